package api_test

import (
	"strings"
	"testing"
)

// TestBadInputLeavesStoredStateUnchanged fires malformed and refused requests at every
// endpoint of the running binary and compares a digest of every table of its database
// before and after: each request gets a clear envelope error and nothing is written.
// Refused uses of a well-formed tokenId are audited by design, so for those the audit
// log is the one table allowed to grow.
func TestBadInputLeavesStoredStateUnchanged(t *testing.T) {
	// No background writers (refresh engine, webhook dispatcher): only requests write.
	forEachStoreEnv(t, map[string]string{"LINKVAULT_REFRESH_ENABLED": "false"}, func(t *testing.T, run *storeRun) {
		badInputLeavesStoredStateUnchanged(t, run)
	})
}

func badInputLeavesStoredStateUnchanged(t *testing.T, run *storeRun) {
	env := run.env
	readTok, writeTok := run.connectFrank(t)

	read := map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": env.ClientA.ReadSecret, "Content-Type": "application/json"}
	write := map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": env.ClientA.WriteSecret, "Content-Type": "application/json"}
	wrong := map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": "lvsk_0123456789abcdef_not-the-secret", "Content-Type": "application/json"}
	text := map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": env.ClientA.WriteSecret, "Content-Type": "text/plain"}
	transfer := func(tok, amount, extra string) string {
		return `{"fromAuthToken":"` + tok + `","fromType":"coinbase","toAddress":"0x326a8825472bb0f4719998e708a1eeeb4473ed1b","symbol":"ETH","networkId":"ethereum","amount":` + amount + extra + `}`
	}
	type badRequest struct {
		name, method, path string
		headers            map[string]string
		body               string
		wantCode           int
	}
	malformed := []badRequest{
		{"linktoken without credentials", "POST", "/api/v1/linktoken", nil, `{"userId":"u"}`, 401},
		{"linktoken with a wrong secret", "POST", "/api/v1/linktoken", wrong, `{"userId":"u"}`, 401},
		{"linktoken malformed JSON", "POST", "/api/v1/linktoken", read, `{"userId":`, 400},
		{"linktoken empty userId", "POST", "/api/v1/linktoken", read, `{"userId":""}`, 400},
		{"linktoken userId over 300 characters", "POST", "/api/v1/linktoken", read, `{"userId":"` + strings.Repeat("u", 301) + `"}`, 400},
		{"linktoken userId not a string", "POST", "/api/v1/linktoken", read, `{"userId":42}`, 400},
		{"linktoken unknown brokerType", "POST", "/api/v1/linktoken", read, `{"userId":"u","brokerType":"kraken"}`, 400},
		{"linktoken body over the limit", "POST", "/api/v1/linktoken", read, `{"userId":"u","pad":"` + strings.Repeat("x", 2<<20) + `"}`, 413},
		{"linktoken text/plain", "POST", "/api/v1/linktoken", text, `{"userId":"u"}`, 400},
		{"holdings malformed JSON", "POST", "/api/v1/holdings/get", read, `[`, 400},
		{"holdings missing authToken", "POST", "/api/v1/holdings/get", read, `{"type":"coinbase"}`, 400},
		{"holdings unknown brokerType", "POST", "/api/v1/holdings/get", read, `{"authToken":"` + readTok + `","type":"kraken"}`, 400},
		{"balance two JSON values", "POST", "/api/v1/balance/get", read, `{"authToken":"` + readTok + `","type":"coinbase"}{}`, 400},
		{"execute with a read key", "POST", "/api/v1/transfers/managed/execute", read, transfer(writeTok, "0.01", `,"clientTransactionId":"t1"`), 403},
		{"execute negative amount", "POST", "/api/v1/transfers/managed/execute", write, transfer(writeTok, "-1", `,"clientTransactionId":"t2"`), 400},
		{"execute zero amount", "POST", "/api/v1/transfers/managed/execute", write, transfer(writeTok, "0", `,"clientTransactionId":"t3"`), 400},
		{"execute without clientTransactionId", "POST", "/api/v1/transfers/managed/execute", write, transfer(writeTok, "0.01", ""), 400},
		{"execute amount is a string", "POST", "/api/v1/transfers/managed/execute", write, transfer(writeTok, `"lots"`, `,"clientTransactionId":"t4"`), 400},
		{"preview without toAddress", "POST", "/api/v1/transfers/managed/preview", write, `{"fromAuthToken":"` + writeTok + `","fromType":"coinbase","symbol":"ETH","networkId":"ethereum","amount":1}`, 400},
		{"remove malformed JSON", "DELETE", "/api/v1/account", write, `{"authToken":"` + writeTok, 400},
		{"remove missing type", "DELETE", "/api/v1/account", write, `{"authToken":"` + writeTok + `"}`, 400},
		{"token status unknown brokerType", "POST", "/api/v1/managed/token/get", read, `{"authToken":"` + readTok + `","type":"Coinbase"}`, 400},
		{"Link page of an unknown session", "GET", "/link/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, "", 410},
		{"Link page API without the page secret", "POST", "/link/api/tokens", map[string]string{"Content-Type": "application/json"}, `{"accessTokens":[{"accessToken":"` + readTok + `"}]}`, 401},
		{"Link page API with a forged page secret", "POST", "/link/api/tokens", map[string]string{"Content-Type": "application/json", "X-Link-Page": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, `{"accessTokens":[]}`, 401},
		{"OAuth callback with a forged state", "GET", "/link/oauth/callback?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&code=x", nil, "", 400},
	}
	refused := []badRequest{
		{"execute with a read-scoped tokenId", "POST", "/api/v1/transfers/managed/execute", write, transfer(readTok, "0.01", `,"previewId":"29b185b1-2305-40fb-a0e2-929d61451568"`), 403},
		{"holdings with the wrong type for the tokenId", "POST", "/api/v1/holdings/get", read, `{"authToken":"` + readTok + `","type":"uphold"}`, 404},
		{"remove with the wrong type for the tokenId", "DELETE", "/api/v1/account", write, `{"authToken":"` + writeTok + `","type":"sandbox"}`, 404},
		{"remove a never-issued tokenId", "DELETE", "/api/v1/account", write, `{"authToken":"bmV2ZXItaXNzdWVkLXRva2VuLWlk","type":"coinbase"}`, 404},
	}

	fire := func(t *testing.T, reqs []badRequest) {
		for _, r := range reqs {
			a := ask(t, env.URL(), r.method, r.path, r.headers, r.body)
			if a.Code != r.wantCode {
				t.Errorf("%s: HTTP %d (%s), want %d", r.name, a.Code, a.Message, r.wantCode)
			}
			if strings.HasPrefix(r.path, "/api/") && (a.Status == "" || a.Status == "ok" || a.Message == "") {
				t.Errorf("%s: envelope status %q message %q, want a clear error", r.name, a.Status, a.Message)
			}
		}
	}

	before := run.settledSnapshot(t)
	fire(t, malformed)
	if after := run.settledSnapshot(t); !sameTables(t, before, after, nil) {
		t.Fatal("malformed requests changed the stored state")
	}
	fire(t, refused)
	after := run.settledSnapshot(t)
	sameTables(t, before, after, map[string]bool{"audit_log": true})
	if before["audit_log"] == after["audit_log"] {
		t.Error("refused uses of real tokenIds were not audited")
	}
}
