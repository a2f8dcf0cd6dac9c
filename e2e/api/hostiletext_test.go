package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/proctest"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// hostileText is the corpus of issue 15, failures 3 and 4: strings that are not valid
// text. json is how the value is written inside a JSON string (escapes or raw bytes);
// the raw form (for query parameters and headers) is what the server would decode it to.
var hostileText = []struct{ name, json, raw string }{
	{"escaped NUL", `a\u0000b`, "a\x00b"},
	{"escaped bell", `a\u0007b`, "a\x07b"},
	{"escaped ANSI escape", `a\u001b[31m`, "a\x1b[31m"},
	{"raw DEL", "a\x7fb", "a\x7fb"},
	{"C1 control NEL", `a\u0085b`, "a\u0085b"},
	{"lone high surrogate", `x\ud800`, ""},
	{"lone low surrogate", `x\udc00`, ""},
	{"truncated emoji (high surrogate at the end)", `frank\ud83d`, ""},
	{"reversed surrogate pair", `\ude00\ud83d`, ""},
	{"invalid byte", "a\xffb", "a\xffb"},
	{"overlong NUL", "a\xc0\x80b", "a\xc0\x80b"},
	{"overlong slash", "a\xc0\xafb", "a\xc0\xafb"},
	{"UTF-8-encoded surrogate", "a\xed\xa0\x80b", "a\xed\xa0\x80b"},
	{"truncated sequence", "a\xe2\x82", "a\xe2\x82"},
	{"above U+10FFFF", "a\xf4\x90\x80\x80", "a\xf4\x90\x80\x80"},
}

// answer is what a request got back: HTTP status and envelope.
type answer struct {
	Code      int
	Status    string
	ErrorType string
	Message   string
}

func (a answer) String() string {
	return fmt.Sprintf("%d %s/%s %q", a.Code, a.Status, a.ErrorType, a.Message)
}

// ask sends one raw request (headers as given) and returns the HTTP status and, for
// API answers, the envelope; an answer that is not an envelope comes back as its
// Message.
func ask(t *testing.T, base, method, target string, headers map[string]string, body string) answer {
	t.Helper()
	res, b := proctest.Send(t, method, base+target, headers, body)
	var env struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return answer{Code: res.StatusCode, Message: "not an envelope: " + string(b)}
	}
	return answer{Code: res.StatusCode, Status: env.Status, ErrorType: env.ErrorType, Message: env.Message}
}

// TestHostileTextIsRefusedAlikeOnBothStores sends every string of the corpus, in every
// string field of every endpoint that takes one (REST bodies, the Link page's JSON
// calls, query parameters, the identity headers), to the real binary on SQLite and on
// PostgreSQL. Each must be a 400 badRequest envelope that names the field, the answers
// must be identical on both stores, and no table may change. On the version before
// this test, NUL answered 500 on PostgreSQL (SQLSTATE 22021) and 200 or 404 on SQLite,
// and unpaired surrogates and invalid UTF-8 were accepted as U+FFFD, merging userIds.
func TestHostileTextIsRefusedAlikeOnBothStores(t *testing.T) {
	answers := map[string]map[string]answer{} // store -> case -> answer
	forEachStoreEnv(t, map[string]string{"LINKVAULT_REFRESH_ENABLED": "false"}, func(t *testing.T, run *storeRun) {
		answers[run.store] = hostileTextAnswers(t, run)
	})
	sq, pg := answers["sqlite"], answers["postgres"]
	if sq == nil || pg == nil {
		return // a store was skipped; each run has checked its own answers
	}
	var differ []string
	for name, a := range sq {
		if pg[name] != a {
			differ = append(differ, fmt.Sprintf("%s: sqlite %v, postgres %v", name, a, pg[name]))
		}
	}
	slices.Sort(differ)
	for _, d := range differ {
		t.Error(d)
	}
	if len(sq) != len(pg) {
		t.Errorf("%d cases on SQLite, %d on PostgreSQL", len(sq), len(pg))
	}
}

func hostileTextAnswers(t *testing.T, run *storeRun) map[string]answer {
	env := run.env
	readTok, writeTok := run.connectFrank(t)

	// Valid text that merely looks unusual is accepted: an emoji written as an escaped
	// surrogate pair, and a literal U+FFFD, are two different users.
	for _, user := range []string{`x\ud83d\ude00`, `x\ufffd`} {
		if a := ask(t, env.URL(), "POST", "/api/v1/linktoken", map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": env.ClientA.ReadSecret, "Content-Type": "application/json"}, `{"userId":"`+user+`"}`); a.Code != 200 {
			t.Fatalf("linktoken for valid userId %s: %v", user, a)
		}
	}
	// A Link page opened with the write key, so the page's transfer calls get past
	// the scope check.
	lt, err := run.clientA(t, env.ClientA.WriteSecret).CreateLinkToken(context.Background(), lvclient.LinkTokenRequest{UserID: "frank"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := linktest.Open(context.Background(), nil, lt.LinkToken)
	if err != nil {
		t.Fatal(err)
	}

	read := map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": env.ClientA.ReadSecret, "Content-Type": "application/json"}
	write := map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": env.ClientA.WriteSecret, "Content-Type": "application/json"}
	pageHdr := map[string]string{"X-Link-Page": page.Boot.Secret, "Content-Type": "application/json"}
	const addr = "0x326a8825472bb0f4719998e708a1eeeb4473ed1b"

	// Each body has one %s per string field, filled with valid values except the one
	// under test.
	type endpoint struct {
		method, path string
		headers      map[string]string
		body         string   // a JSON template with %s for each field's content
		valid        []string // the valid content of each field
		fields       []string // the field names, for the case names
	}
	endpoints := []endpoint{
		{"POST", "/api/v1/linktoken", read, `{"userId":"%s","integrationId":"%s","brokerType":"%s"}`, []string{"frank", "coinbase", "coinbase"}, []string{"userId", "integrationId", "brokerType"}},
		{"POST", "/api/v1/holdings/get", read, `{"authToken":"%s","type":"%s"}`, []string{readTok, "coinbase"}, []string{"authToken", "type"}},
		{"POST", "/api/v1/balance/get", read, `{"authToken":"%s","type":"%s"}`, []string{readTok, "coinbase"}, []string{"authToken", "type"}},
		{"POST", "/api/v1/managed/token/get", read, `{"authToken":"%s","type":"%s"}`, []string{readTok, "coinbase"}, []string{"authToken", "type"}},
		{"DELETE", "/api/v1/account", write, `{"authToken":"%s","type":"%s"}`, []string{writeTok, "coinbase"}, []string{"authToken", "type"}},
		{"POST", "/api/v1/transfers/managed/preview", write, `{"fromAuthToken":"%s","fromType":"%s","toAddress":"%s","symbol":"%s","networkId":"%s","amount":0.01}`,
			[]string{writeTok, "coinbase", addr, "ETH", "ethereum"}, []string{"fromAuthToken", "fromType", "toAddress", "symbol", "networkId"}},
		{"POST", "/api/v1/transfers/managed/execute", write, `{"fromAuthToken":"%s","fromType":"%s","toAddress":"%s","symbol":"ETH","networkId":"ethereum","amount":0.01,"clientTransactionId":"%s"}`,
			[]string{writeTok, "coinbase", addr, "hostile-1"}, []string{"fromAuthToken", "fromType", "toAddress", "clientTransactionId"}},
		{"POST", "/link/api/tokens", pageHdr, `{"accessTokens":[{"accessToken":"%s","brokerType":"%s"}]}`, []string{writeTok, "coinbase"}, []string{"accessToken", "brokerType"}},
		{"POST", "/link/api/oauth/start", pageHdr, `{"brokerType":"%s","tokenId":"%s","mode":"%s","view":{"lng":"%s"}}`, []string{"coinbase", writeTok, "popup", "en"}, []string{"brokerType", "tokenId", "mode", "view.lng"}},
		{"POST", "/link/api/apikey", pageHdr, `{"brokerType":"%s","apiKey":"%s","apiSecret":"%s","tokenId":"%s"}`,
			[]string{"binanceInternationalDirect", "NoSuchKey0123456789abcdef", "NoSuchSecret0123456789abc", ""}, []string{"brokerType", "apiKey", "apiSecret", "tokenId"}},
		{"POST", "/link/api/holdings", pageHdr, `{"tokenId":"%s"}`, []string{writeTok}, []string{"tokenId"}},
		{"POST", "/link/api/transfer/preview", pageHdr, `{"tokenId":"%s","symbol":"%s","network":"%s","toAddress":"%s","amount":0.01}`,
			[]string{writeTok, "ETH", "ethereum", addr}, []string{"tokenId", "symbol", "network", "toAddress"}},
		{"POST", "/link/api/transfer/execute", pageHdr, `{"tokenId":"%s","symbol":"ETH","network":"ethereum","toAddress":"%s","amount":0.01,"clientTransactionId":"%s"}`,
			[]string{writeTok, addr, "hostile-2"}, []string{"tokenId", "toAddress", "clientTransactionId"}},
	}
	type request struct {
		name, method, target string
		headers              map[string]string
		body                 string
	}
	var reqs []request
	for _, e := range endpoints {
		for i, field := range e.fields {
			for _, h := range hostileText {
				vals := make([]any, len(e.valid))
				for j, v := range e.valid {
					vals[j] = v
				}
				vals[i] = h.json
				reqs = append(reqs, request{fmt.Sprintf("%s %s %s: %s", e.method, e.path, field, h.name), e.method, e.path, e.headers, fmt.Sprintf(e.body, vals...)})
			}
		}
	}
	// A userId one character over the documented 1..300.
	reqs = append(reqs, request{"POST /api/v1/linktoken userId: 301 characters", "POST", "/api/v1/linktoken", read, `{"userId":"` + strings.Repeat("u", 301) + `"}`})
	reqs = append(reqs, request{"POST /api/v1/linktoken userId: 301 characters, emoji", "POST", "/api/v1/linktoken", read, `{"userId":"` + strings.Repeat("😀", 301) + `"}`})
	// Query parameters, path segments and identity headers, with the raw form.
	for _, h := range hostileText {
		if h.raw == "" {
			continue // a surrogate has no raw UTF-8 form
		}
		q := url.QueryEscape(h.raw)
		reqs = append(reqs,
			request{"GET /api/v1/integrations query: " + h.name, "GET", "/api/v1/integrations?filter=" + q, read, ""},
			request{"GET /api/v1/status query: " + h.name, "GET", "/api/v1/status?x=" + q, read, ""},
			request{"GET /link/{session} lng: " + h.name, "GET", "/link/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?lng=" + q, nil, ""},
			request{"GET /link/{session} path: " + h.name, "GET", "/link/" + url.PathEscape(h.raw), nil, ""},
			request{"GET /link/oauth/callback state: " + h.name, "GET", "/link/oauth/callback?code=c&state=" + q, nil, ""},
			request{"GET /link/api/oauth/status query: " + h.name, "GET", "/link/api/oauth/status?x=" + q, pageHdr, ""},
		)
		if !strings.ContainsFunc(h.raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			// Go's HTTP client refuses C0 controls and DEL in header values itself.
			reqs = append(reqs,
				request{"X-Client-Id header: " + h.name, "GET", "/api/v1/status", map[string]string{"X-Client-Id": env.ClientA.ID + h.raw, "X-Client-Secret": env.ClientA.ReadSecret}, ""},
				request{"X-Client-Secret header: " + h.name, "GET", "/api/v1/status", map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": env.ClientA.ReadSecret + h.raw}, ""},
				request{"X-Link-Page header: " + h.name, "POST", "/link/api/tokens", map[string]string{"X-Link-Page": page.Boot.Secret + h.raw, "Content-Type": "application/json"}, `{"accessTokens":[]}`},
			)
		}
	}

	before := run.settledSnapshot(t)
	out := map[string]answer{}
	for _, r := range reqs {
		a := ask(t, env.URL(), r.method, r.target, r.headers, r.body)
		out[r.name] = a
		if a.Code != 400 || a.Status != "badRequest" || a.Message == "" {
			t.Errorf("%s: %v, want a 400 badRequest envelope", r.name, a)
		}
	}
	if after := run.settledSnapshot(t); !sameTables(t, before, after, nil) {
		t.Error("hostile text changed the stored state")
	}
	t.Logf("%d hostile requests on %s", len(reqs), run.store)
	return out
}
