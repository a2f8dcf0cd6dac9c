package http_test

import (
	"maps"
	"net/netip"
	"strings"
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

func TestFailedAuthenticationsAreLimitedPerSourceAndClient(t *testing.T) {
	ts := newTestServerWith(t, func(c *config.Config) { c.RateLimit.AuthFailures = 3 })
	bad := map[string]string{"X-Client-Id": "app1", "X-Client-Secret": "lvsk_0123456789abcdef_guess", "Content-Type": "application/json"}
	body := `{"authToken":"` + linkvault.NewTokenID() + `","type":"coinbase"}`
	for i := range 3 {
		if r := ts.do(t, "DELETE", "/api/v1/account", bad, body); r.code != 401 {
			t.Fatalf("attempt %d: %d %s", i, r.code, r.body)
		}
	}
	r := ts.do(t, "DELETE", "/api/v1/account", bad, body)
	if r.code != 429 || r.env.Status != "tooManyRequest" || r.env.ErrorType != linkvault.ErrTypeRateLimited || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s (Retry-After %q)", r.code, r.body, r.hdr.Get("Retry-After"))
	}
	if c, ok := r.env.ErrorData.(map[string]any); !ok || c["retryAfterSeconds"].(float64) < 1 {
		t.Fatalf("envelope errorData must carry retryAfterSeconds: %s", r.body)
	}
	// The right secret from the same address is never refused.
	if r := ts.do(t, "DELETE", "/api/v1/account", ts.auth("app1"), body); r.code != 404 {
		t.Fatalf("valid key from an address over its failure budget: %d %s, want the normal not-found answer", r.code, r.body)
	}
	// Another client id from the same address has its own budget.
	other := maps.Clone(bad)
	other["X-Client-Id"] = "app2"
	if r := ts.do(t, "DELETE", "/api/v1/account", other, body); r.code != 401 {
		t.Fatalf("first failure for another client id from the same address: %d %s, want 401", r.code, r.body)
	}
	// Malformed client ids are never looked up, and share one budget per address so
	// the failure table's keys stay short.
	for i, id := range []string{"no spaces", "app1\u00e9", strings.Repeat("a", 65), "app1;app2"} {
		h := maps.Clone(bad)
		h["X-Client-Id"] = id
		want := 401
		if i == 3 {
			want = 429
		}
		if r := ts.do(t, "DELETE", "/api/v1/account", h, body); r.code != want {
			t.Fatalf("malformed client id %q: %d %s, want %d", id, r.code, r.body, want)
		}
	}
}

// TestAttackerAtTenTimesTheLimitBehindTheSameProxy is issue 15, failure 2, at the
// handler: every request comes from the proxy's address (the test's loopback peer); an
// attacker fails authentication at ten times the limit; a correct client behind the
// same proxy is served, another caller's typo stays a 401. Without the proxy in
// TrustedProxies, X-Forwarded-For is not believed, so the attacker cannot escape the
// count by writing a fresh address into it.
func TestAttackerAtTenTimesTheLimitBehindTheSameProxy(t *testing.T) {
	const limit = 4
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	body := `{"authToken":"` + linkvault.NewTokenID() + `","type":"coinbase"}`
	hdr := func(source, secret string) map[string]string {
		return map[string]string{"X-Client-Id": "app1", "X-Client-Secret": secret, "Content-Type": "application/json", "X-Forwarded-For": source}
	}
	const guess = "lvsk_0123456789abcdef_guess"

	t.Run("trusted proxy", func(t *testing.T) {
		ts := newTestServerWith(t, func(c *config.Config) { c.RateLimit.AuthFailures, c.TrustedProxies = limit, loopback })
		codes := map[int]int{}
		for range 10 * limit {
			codes[ts.do(t, "DELETE", "/api/v1/account", hdr("203.0.113.9", guess), body).code]++
		}
		if codes[401] != limit || codes[429] != 9*limit {
			t.Fatalf("attacker's answers %v, want %d x 401 and the rest 429", codes, limit)
		}
		if r := ts.do(t, "DELETE", "/api/v1/account", hdr("198.51.100.1", ts.secrets["app1"]), body); r.code != 404 {
			t.Fatalf("correct client behind the proxy: %d %s, want the normal not-found answer", r.code, r.body)
		}
		if r := ts.do(t, "DELETE", "/api/v1/account", hdr("198.51.100.2", guess), body); r.code != 401 {
			t.Fatalf("another caller's first typo behind the proxy: %d %s, want 401", r.code, r.body)
		}
	})
	t.Run("untrusted peer", func(t *testing.T) {
		ts := newTestServerWith(t, func(c *config.Config) { c.RateLimit.AuthFailures = limit })
		codes := map[int]int{}
		for i := range 10 * limit {
			spoofed := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()
			codes[ts.do(t, "DELETE", "/api/v1/account", hdr(spoofed, guess), body).code]++
		}
		if codes[401] != limit || codes[429] != 9*limit {
			t.Fatalf("attacker writing a new X-Forwarded-For each time: %v, want %d x 401 and the rest 429", codes, limit)
		}
		if r := ts.do(t, "DELETE", "/api/v1/account", hdr("203.0.113.50", ts.secrets["app1"]), body); r.code != 404 {
			t.Fatalf("correct client from the attacker's address: %d %s, want the normal not-found answer", r.code, r.body)
		}
	})
}

func TestLinkTokensPerClientAreLimited(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{Config: func(c *config.Config) { c.RateLimit.LinkTokensPerClient = 2 }})
	body := `{"userId":"u1"}`
	for i := range 2 {
		if r := st.API(t, "POST", "/api/v1/linktoken", "app1", linkvault.PermissionRead, body); r.Code != 200 {
			t.Fatalf("linktoken %d: %d %s", i, r.Code, r.Body)
		}
	}
	r := st.API(t, "POST", "/api/v1/linktoken", "app1", linkvault.PermissionRead, body)
	if r.Code != 429 || r.Envelope.ErrorType != linkvault.ErrTypeRateLimited {
		t.Fatalf("third linktoken in a minute: %d %s", r.Code, r.Body)
	}
	// Another client has its own budget.
	if r := st.API(t, "POST", "/api/v1/linktoken", "app2", linkvault.PermissionRead, body); r.Code != 200 {
		t.Fatalf("other client's linktoken: %d %s", r.Code, r.Body)
	}
}
