package http_test

import (
	"testing"

	"github.com/linkvault/linkvault"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

func TestFailedAuthenticationsPerIPAreLimited(t *testing.T) {
	ts := newTestServerWith(t, lvhttp.Config{AuthFailuresPerIP: 3})
	bad := map[string]string{"X-Client-Id": "app1", "X-Client-Secret": "lvsk_0123456789abcdef_guess", "Content-Type": "application/json"}
	body := `{"authToken":"x","type":"coinbase"}`
	for i := range 3 {
		if r := ts.do(t, "DELETE", "/api/v1/account", bad, body); r.code != 401 {
			t.Fatalf("attempt %d: %d %s", i, r.code, r.body)
		}
	}
	r := ts.do(t, "DELETE", "/api/v1/account", bad, body)
	if r.code != 429 || r.env.Status != "tooManyRequest" || r.env.ErrorType != linkvault.ErrTypeRateLimited || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s (Retry-After %q)", r.code, r.body, r.hdr.Get("Retry-After"))
	}
	if c, ok := r.env.Content.(map[string]any); !ok || c["retryAfterSeconds"].(float64) < 1 {
		t.Fatalf("envelope content must carry retryAfterSeconds: %s", r.body)
	}
	// The address is blocked before credentials are checked, so even a valid key waits.
	if r := ts.do(t, "DELETE", "/api/v1/account", ts.auth("app1"), body); r.code != 429 {
		t.Fatalf("blocked address with a valid key: %d %s", r.code, r.body)
	}
}

func TestFailedAuthenticationsPerClientDoNotLockOutTheClient(t *testing.T) {
	ts := newTestServerWith(t, lvhttp.Config{AuthFailuresPerClient: 2})
	bad := map[string]string{"X-Client-Id": "app1", "X-Client-Secret": "lvsk_0123456789abcdef_guess", "Content-Type": "application/json"}
	body := `{"authToken":"` + linkvault.NewTokenID() + `","type":"coinbase"}`
	codes := []int{}
	for range 4 {
		codes = append(codes, ts.do(t, "DELETE", "/api/v1/account", bad, body).code)
	}
	if codes[0] != 401 || codes[1] != 401 || codes[2] != 429 || codes[3] != 429 {
		t.Fatalf("codes for repeated guesses = %v, want [401 401 429 429]", codes)
	}
	// The real client, with its real secret, is not locked out by someone else's guesses.
	if r := ts.do(t, "DELETE", "/api/v1/account", ts.auth("app1"), body); r.code != 404 {
		t.Fatalf("valid key after guesses: %d %s, want the normal not-found answer", r.code, r.body)
	}
}

func TestLinkTokensPerClientAreLimited(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{HTTP: lvhttp.Config{LinkTokensPerClient: 2}})
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
