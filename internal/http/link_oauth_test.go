package http_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

// Redirect mode is how the Link page signs in at an exchange inside a native SDK's
// WebView: it navigates to the consent URL itself. Some SDKs keep that navigation in
// the WebView (the callback comes back there, with the resume cookie the start set),
// others hand the exchange's URL to the system browser (the callback arrives without
// it, and the page still open in the app polls GET /link/api/oauth/status). These
// tests hold the second path to every property of the first: single-use state, PKCE,
// the session's client/user/scope, no page secret leaving the page, expiry.

// redirectFlow starts a redirect-mode Coinbase sign-in on a fresh page of user and has
// the simulated exchange authorize it; it returns the page, the resume cookie the start
// set, and the callback URL the exchange redirected to (not yet loaded).
func redirectFlow(t *testing.T, st *linktest.Stack, user, exchangeUser, tokenID string) (*linktest.Page, *http.Cookie, string) {
	t.Helper()
	ctx := t.Context()
	page := st.OpenPage(t, "app1", permWrite, user)
	authURL, resume, err := page.StartOAuthRedirect(ctx, "coinbase", tokenID)
	if err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(authURL)
	if au.Query().Get("code_challenge_method") != "S256" || au.Query().Get("redirect_uri") != st.URL+link.CallbackPath {
		t.Fatalf("consent URL lacks PKCE or the callback: %s", authURL)
	}
	cb, err := exchangesim.Consent(ctx, nil, authURL, exchangeUser, "pw", false)
	if err != nil {
		t.Fatal(err)
	}
	return page, resume, cb.String()
}

func statusOf(t *testing.T, p *linktest.Page) (string, *link.Outcome) {
	t.Helper()
	s, o, err := p.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return s, o
}

// statusWithSecret calls the status endpoint with a raw page secret.
func statusWithSecret(t *testing.T, st *linktest.Stack, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, st.URL+"/link/api/oauth/status", nil)
	req.Header.Set(linktest.PageSecretHeader, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env.ErrorType
}

func TestRedirectStartSetsAResumeCookieOnlyForTheCallback(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	page := st.OpenPage(t, "app1", permWrite, "alice")
	authURL, c, err := page.StartOAuthRedirect(ctx, "coinbase", "")
	if err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(authURL)
	if c.Name != "lv_resume_"+link.ResumeKey(au.Query().Get("state")) || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Path != link.CallbackPath || c.Secure || c.MaxAge <= 0 || c.MaxAge > int(link.DefaultPageTTL/time.Second) || len(c.Value) < 40 {
		t.Fatalf("resume cookie %+v", c)
	}
	if strings.Contains(authURL, c.Value) {
		t.Fatal("the resume value is in the consent URL")
	}
	// Popup mode (the web SDK's) sets no cookie at all.
	if _, err := page.StartOAuth(ctx, "coinbase", ""); err != nil {
		t.Fatal(err)
	}
}

// TestOAuthStatusForTheAppPage: the callback lands in the system browser (no resume
// cookie). It connects the account to the session that started the flow, shows a
// "return to the app" page that carries no page secret, and the page in the app
// reads the outcome with its unchanged secret.
func TestOAuthStatusForTheAppPage(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	alice, resume, cb := redirectFlow(t, st, "alice", "alice-sys", "")
	bob := st.OpenPage(t, "app1", permWrite, "bob")
	if s, _ := statusOf(t, alice); s != "pending" {
		t.Fatalf("alice before the callback: %q", s)
	}

	// The system browser: no cookie.
	resp, body := get(t, cb)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-status="connected"`) || !strings.Contains(body, `data-mode="redirect"`) ||
		!strings.Contains(body, "Return to the app") {
		t.Fatalf("callback in the system browser: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "data-boot") || strings.Contains(body, "secret") {
		t.Fatal("the system browser's page carries Link boot data")
	}
	checkLinkHeaders(t, resp)

	s, o := statusOf(t, alice)
	if s != link.OutcomeConnected || o == nil || o.Payload == nil || o.Reauthenticated {
		t.Fatalf("alice's status after the callback: %q %+v", s, o)
	}
	tokenID := o.Payload.AccountTokens[0].TokenID
	c, err := st.DB.GetConnection(ctx, "app1", tokenID)
	if err != nil || c.UserID != "alice" || c.Scope != permWrite || c.BrokerType != linkvault.BrokerCoinbase {
		t.Fatalf("connection %+v %v", c, err)
	}

	tests := []struct {
		name     string
		secret   string
		wantCode int
	}{
		{"no secret", "", 401},
		{"random secret", linkvault.NewRandomID(32), 401},
		{"alice's secret with one character changed", flipLast(alice.Boot.Secret), 401},
		{"the resume cookie as a secret", resume.Value, 401},
		{"alice's secret", alice.Boot.Secret, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, typ := statusWithSecret(t, st, tt.secret)
			if code != tt.wantCode || (code == 401 && typ != linkvault.ErrTypeLinkTokenInvalid) {
				t.Fatalf("got %d %s, want %d", code, typ, tt.wantCode)
			}
		})
	}

	// Another session sees nothing of it.
	if s, o := statusOf(t, bob); s != "idle" || o != nil {
		t.Fatalf("bob's status: %q %+v", s, o)
	}

	// Replays: the callback again, with or without the cookie, is refused and changes
	// nothing; no second connection, alice's outcome and secret stay.
	for _, withCookie := range []bool{false, true} {
		var ck *http.Cookie
		if withCookie {
			ck = resume
		}
		code, body, _, err := bob.FollowCallbackIn(ctx, cb, ck)
		if err != nil || code != 400 || !strings.Contains(string(body), "expired") {
			t.Fatalf("replayed callback (cookie %v): %d %s %v", withCookie, code, body, err)
		}
	}
	if s, o2 := statusOf(t, alice); s != link.OutcomeConnected || o2.Payload.AccountTokens[0].TokenID != tokenID {
		t.Fatalf("alice after the replays: %q %+v", s, o2)
	}
	if cs, _ := st.DB.ListUserConnections(ctx, "app1", "alice"); len(cs) != 1 {
		t.Fatalf("alice has %d connections", len(cs))
	}
	if cs, _ := st.DB.ListUserConnections(ctx, "app1", "bob"); len(cs) != 0 {
		t.Fatalf("bob got %d connections from alice's callback", len(cs))
	}
}

// TestOAuthRedirectBackIntoTheSamePage: the callback presents the attempt's resume
// cookie (the navigation stayed in the WebView): Link is rendered again at the result
// with a fresh secret, the old one stops, and the cookie is cleared. A cookie of
// another attempt does not count.
func TestOAuthRedirectBackIntoTheSamePage(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()

	// Another attempt's cookie (same name as this attempt's, wrong value): not this
	// browser, so no Link page and no new secret.
	_, otherResume, _ := redirectFlow(t, st, "carol", "carol-x", "")
	dave, daveResume, daveCB := redirectFlow(t, st, "dave", "dave-x", "")
	forged := &http.Cookie{Name: daveResume.Name, Value: otherResume.Value}
	old := dave.Boot.Secret
	code, body, _, err := dave.FollowCallbackIn(ctx, daveCB, forged)
	if err != nil || code != 200 || !strings.Contains(string(body), `data-mode="redirect"`) || strings.Contains(string(body), "data-boot") {
		t.Fatalf("callback with another attempt's cookie: %d %s %v", code, body, err)
	}
	if dave.Boot.Secret != old {
		t.Fatal("a foreign cookie got a new page secret")
	}
	if s, _ := statusOf(t, dave); s != link.OutcomeConnected {
		t.Fatalf("dave's status: %q", s)
	}

	erin, resume, cb := redirectFlow(t, st, "erin", "erin-x", "")
	old = erin.Boot.Secret
	code, body, set, err := erin.FollowCallbackIn(ctx, cb, resume)
	if err != nil || code != 200 || !strings.Contains(string(body), "data-boot") {
		t.Fatalf("callback in the same browser: %d %s %v", code, body, err)
	}
	if erin.Boot.Secret == old || erin.Boot.Outcome == nil || erin.Boot.Outcome.Status != link.OutcomeConnected {
		t.Fatalf("Link page rendered again: secret changed %v, outcome %+v", erin.Boot.Secret != old, erin.Boot.Outcome)
	}
	cleared := false
	for _, c := range set {
		cleared = cleared || (c.Name == resume.Name && c.MaxAge < 0)
	}
	if !cleared {
		t.Fatalf("the resume cookie was not cleared: %v", set)
	}
	if code, typ := statusWithSecret(t, st, old); code != 401 || typ != linkvault.ErrTypeLinkTokenInvalid {
		t.Fatalf("the replaced secret: %d %s", code, typ)
	}
	if s, o := statusOf(t, erin); s != link.OutcomeConnected || o.Payload == nil {
		t.Fatalf("erin's status with the new secret: %q %+v", s, o)
	}
}

// TestOAuthRedirectExpiry: once the page's time is up, neither the status nor the
// callback works, and nothing is connected.
func TestOAuthRedirectExpiry(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	page, resume, cb := redirectFlow(t, st, "frank", "frank-x", "")
	st.Clock.Advance(link.DefaultPageTTL + time.Second)
	_, _, err := page.Status(ctx)
	var apiErr *linktest.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 401 || apiErr.ErrorType != linkvault.ErrTypeLinkTokenInvalid {
		t.Fatalf("status after expiry: %v", err)
	}
	code, body, _, err := page.FollowCallbackIn(ctx, cb, resume)
	if err != nil || code != 400 || !strings.Contains(string(body), "expired") {
		t.Fatalf("callback after expiry: %d %s %v", code, body, err)
	}
	if cs, _ := st.DB.ListUserConnections(ctx, "app1", "frank"); len(cs) != 0 {
		t.Fatalf("an expired flow connected %d accounts", len(cs))
	}
}

// TestOAuthRedirectReauthFromTheSystemBrowser: re-authentication through the system
// browser re-attaches the same tokenId, and the page in the app reads it as a
// re-authentication.
func TestOAuthRedirectReauthFromTheSystemBrowser(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	tokenID := revokedConnection(t, st, permWrite, "gina", "gina-cb")
	page, _, cb := redirectFlow(t, st, "gina", "gina-cb", tokenID)
	if resp, body := get(t, cb); resp.StatusCode != 200 || !strings.Contains(body, `data-status="connected"`) {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	s, o := statusOf(t, page)
	if s != link.OutcomeConnected || !o.Reauthenticated || o.Payload.AccountTokens[0].TokenID != tokenID {
		t.Fatalf("re-auth outcome %q %+v, want tokenId %s", s, o, tokenID)
	}
	if c, err := st.DB.GetConnection(ctx, "app1", tokenID); err != nil || c.Status != linkvault.StatusActive {
		t.Fatalf("after re-auth: %+v %v", c, err)
	}
}

func flipLast(s string) string {
	if s == "" {
		return "x"
	}
	last := s[len(s)-1]
	if last == 'A' {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}
