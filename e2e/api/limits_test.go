package api_test

import (
	"testing"
)

// TestAttackerBehindSharedProxyDoesNotLockOutClients is issue 15, failure 2: an
// attacker guessing secrets at ten times the failure limit, through the same reverse
// proxy as everybody else (all requests reach linkvault from one address), neither
// stops a caller with the right secret nor turns another caller's single mistake into
// a 429. The proxy is trusted (LINKVAULT_TRUSTED_PROXIES), so failures are counted per
// X-Forwarded-For source and client id; the attacker alone is answered 429.
func TestAttackerBehindSharedProxyDoesNotLockOutClients(t *testing.T) {
	const limit = 5
	vars := map[string]string{
		"LINKVAULT_REFRESH_ENABLED":          "false",
		"LINKVAULT_RATE_LIMIT_AUTH_FAILURES": "5",
		"LINKVAULT_TRUSTED_PROXIES":          "127.0.0.0/8, ::1/128",
	}
	forEachStoreEnv(t, vars, func(t *testing.T, run *storeRun) {
		env := run.env
		hdr := func(source, secret string) map[string]string {
			return map[string]string{"X-Client-Id": env.ClientA.ID, "X-Client-Secret": secret, "X-Forwarded-For": source}
		}
		attacker := hdr("203.0.113.66", "lvsk_0123456789abcdef_guessed-secret")
		codes := map[int]int{}
		for range 10 * limit {
			codes[ask(t, env.URL(), "GET", "/api/v1/integrations", attacker, "").Code]++
		}
		if codes[401] != limit || codes[429] != 9*limit {
			t.Errorf("attacker's answers: %v, want %d x 401 then 429s", codes, limit)
		}
		// The correct client behind the same proxy, a moment later.
		if a := ask(t, env.URL(), "GET", "/api/v1/integrations", hdr("198.51.100.7", env.ClientA.ReadSecret), ""); a.Code != 200 {
			t.Errorf("correct secret behind the attacked proxy: %d %s %s, want 200", a.Code, a.Status, a.Message)
		}
		// Even from the attacker's own address, the right secret is never refused.
		if a := ask(t, env.URL(), "GET", "/api/v1/integrations", hdr("203.0.113.66", env.ClientA.WriteSecret), ""); a.Code != 200 {
			t.Errorf("correct secret from the attacking address: %d %s %s, want 200", a.Code, a.Status, a.Message)
		}
		// Another caller's typo is an ordinary 401, not the attacker's 429.
		if a := ask(t, env.URL(), "GET", "/api/v1/integrations", hdr("198.51.100.8", "lvsk_0123456789abcdef_typo"), ""); a.Code != 401 {
			t.Errorf("one wrong secret from another source behind the proxy: %d %s, want 401", a.Code, a.Message)
		}
		// Forged hops left of the attacker's real address change nothing: the rightmost
		// untrusted hop is the source.
		forged := hdr("198.51.100.7, 203.0.113.66", "lvsk_0123456789abcdef_guessed-secret")
		if code := ask(t, env.URL(), "GET", "/api/v1/integrations", forged, "").Code; code != 429 {
			t.Errorf("attacker prepending a forged X-Forwarded-For hop: %d, want 429", code)
		}
	})
}
