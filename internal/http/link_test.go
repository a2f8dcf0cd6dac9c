package http_test

import (
	"context"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

const (
	permRead  = linkvault.PermissionRead
	permWrite = linkvault.PermissionWrite
)

// countingStore counts session creations, to prove refused requests write nothing.
type countingStore struct {
	link.Store
	creates atomic.Int64
}

func (c *countingStore) CreateLinkSession(ctx context.Context, s *linkvault.LinkSession) error {
	c.creates.Add(1)
	return c.Store.CreateLinkSession(ctx, s)
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestLinkTokenValidation(t *testing.T) {
	counter := &countingStore{}
	st := linktest.NewStack(t, linktest.StackOptions{WrapStore: func(s link.Store) link.Store { counter.Store = s; return counter }})
	tests := []struct {
		name      string
		client    string
		body      string
		wantCode  int
		wantType  string
		wantInMsg string
	}{
		{"missing auth", "", `{"userId":"alice"}`, 401, linkvault.ErrTypeUnauthorized, "X-Client-Id"},
		{"empty userId", "app1", `{"userId":""}`, 400, linkvault.ErrTypeInvalidRequest, "userId is required"},
		{"no userId", "app1", `{}`, 400, linkvault.ErrTypeInvalidRequest, "userId is required"},
		{"blank userId", "app1", `{"userId":"   "}`, 400, linkvault.ErrTypeInvalidRequest, "userId must not be blank"},
		{"userId over 300 chars", "app1", `{"userId":"` + strings.Repeat("é", 301) + `"}`, 400, linkvault.ErrTypeInvalidRequest, "at most 300"},
		{"malformed JSON", "app1", `{"userId":`, 400, linkvault.ErrTypeInvalidJSON, "not valid JSON"},
		{"wrong type", "app1", `{"userId":7}`, 400, linkvault.ErrTypeInvalidJSON, "userId"},
		{"unknown brokerType", "app1", `{"userId":"alice","brokerType":"kraken"}`, 400, linkvault.ErrTypeUnknownBrokerType, "brokerType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := st.API(t, http.MethodPost, "/api/v1/linktoken", tt.client, permWrite, tt.body)
			if r.Code != tt.wantCode || r.Envelope.ErrorType != tt.wantType || !strings.Contains(r.Envelope.Message, tt.wantInMsg) {
				t.Fatalf("got %d %s", r.Code, r.Body)
			}
			if len(r.Envelope.Content) != 0 {
				t.Fatalf("error carries content: %s", r.Body)
			}
		})
	}
	if n := counter.creates.Load(); n != 0 {
		t.Fatalf("refused requests created %d sessions", n)
	}
	// A 300-character userId is fine, and creates exactly one session.
	st.LinkToken(t, "app1", permRead, strings.Repeat("é", 300))
	if n := counter.creates.Load(); n != 1 {
		t.Fatalf("one linktoken created %d sessions", n)
	}
}

func TestLinkTokenOpensOncePerSession(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	token := st.LinkToken(t, "app1", permWrite, "alice")
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		t.Fatalf("linkToken is not standard base64: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil || u.Scheme != "http" || u.Host == "" || !strings.HasPrefix(string(raw), st.URL+"/link/") {
		t.Fatalf("linkToken decodes to %q, want an absolute URL under %s/link/", raw, st.URL)
	}

	resp, body := get(t, u.String()+"?lng=es&th=dark&fiatCur=EUR&rt=embedded")
	if resp.StatusCode != 200 {
		t.Fatalf("first load: %d", resp.StatusCode)
	}
	checkLinkHeaders(t, resp)
	for _, want := range []string{`lang="es"`, `data-theme="dark"`, `data-rt="embedded"`, `Conectar una cuenta`, `&#34;fiatCur&#34;:&#34;EUR&#34;`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// The boot data may name pages for the user to visit (an exchange's API key help);
	// the markup itself loads nothing from elsewhere.
	markup := body
	if before, rest, ok := strings.Cut(body, `data-boot="`); ok {
		_, after, _ := strings.Cut(rest, `"`)
		markup = before + after
	}
	if strings.Contains(markup, "<script>") || strings.Contains(markup, " style=") || strings.Contains(markup, "https://") {
		t.Errorf("page has an inline script, inline style or external URL")
	}

	resp, body = get(t, u.String())
	if resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired or was already used") {
		t.Fatalf("second load: %d %q", resp.StatusCode, body)
	}
	checkLinkHeaders(t, resp)

	for _, bad := range []string{"/link/" + linkvault.NewRandomID(24), "/link/short", "/link/%2e%2e"} {
		if resp, _ := get(t, st.URL+bad); resp.StatusCode != http.StatusGone && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
}

// TestHeadDoesNotUseUpTheLink: HEAD on a Link URL answers as GET would (200 with the
// page's headers, 410 for a used or unknown link) without opening the session. It used
// to open it: the HEAD answer carried no page, and the GET after it found the link
// used (410), so a link checker or previewer sending HEAD burnt the user's link.
func TestHeadDoesNotUseUpTheLink(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	u, err := linktest.DecodeLinkToken(st.LinkToken(t, "app1", permWrite, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	head := func() *http.Response {
		t.Helper()
		resp, err := http.Head(u.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for range 2 {
		resp := head()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("HEAD on a fresh link: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		checkLinkHeaders(t, resp)
	}
	if resp, body := get(t, u.String()); resp.StatusCode != http.StatusOK || !strings.Contains(body, "data-boot") {
		t.Fatalf("GET after HEAD: %d, want the Link page", resp.StatusCode)
	}
	if resp := head(); resp.StatusCode != http.StatusGone {
		t.Fatalf("HEAD on a used link: %d, want 410", resp.StatusCode)
	}
	if resp, _ := get(t, u.String()); resp.StatusCode != http.StatusGone {
		t.Fatalf("second GET: %d, want 410", resp.StatusCode)
	}
}

func checkLinkHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if resp.Header.Get("X-Frame-Options") != "" {
		t.Errorf("X-Frame-Options set: the app must be able to frame Link")
	}
}

func TestLinkSessionExpiresWithTheClock(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	unopened := st.LinkToken(t, "app1", permRead, "alice")
	opened := st.LinkToken(t, "app1", permRead, "alice")
	page, err := linktest.Open(ctx, nil, opened)
	if err != nil {
		t.Fatal(err)
	}
	st.Clock.Advance(link.DefaultSessionTTL + time.Second)
	if _, err := linktest.Open(ctx, nil, unopened); !errors.Is(err, linktest.ErrExpired) {
		t.Fatalf("opening after the session TTL: %v, want ErrExpired", err)
	}
	// An opened page keeps working for its page TTL, then stops.
	if _, err := page.Known(ctx); err != nil {
		t.Fatalf("page within its TTL: %v", err)
	}
	st.Clock.Advance(link.DefaultPageTTL)
	_, err = page.Known(ctx)
	var apiErr *linktest.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 401 || apiErr.ErrorType != linkvault.ErrTypeLinkTokenInvalid {
		t.Fatalf("page after its TTL: %v", err)
	}
}

func TestPageAPINeedsThePageSecret(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	for _, secret := range []string{"", "nope", linkvault.NewRandomID(32)} {
		req, _ := http.NewRequest(http.MethodPost, st.URL+"/link/api/tokens", strings.NewReader(`{"accessTokens":[]}`))
		req.Header.Set(linktest.PageSecretHeader, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(b), linkvault.ErrTypeLinkTokenInvalid) {
			t.Fatalf("secret %q: %d %s", secret, resp.StatusCode, b)
		}
		checkLinkHeaders(t, resp)
	}
}

func TestOAuthConnectAndReplayedCallback(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	page := st.OpenPage(t, "app1", permWrite, "alice")
	authURL, err := page.StartOAuth(ctx, "coinbase", "")
	if err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(authURL)
	if au.Query().Get("code_challenge") == "" || au.Query().Get("code_challenge_method") != "S256" || au.Query().Get("redirect_uri") != st.URL+link.CallbackPath {
		t.Fatalf("consent URL lacks PKCE or the callback: %s", authURL)
	}
	if status, _, _ := page.Status(ctx); status != "pending" {
		t.Fatalf("status before the callback = %q", status)
	}
	cb, err := exchangesim.Consent(ctx, nil, authURL, "alice-cb", "pw", false)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, cb.String())
	if resp.StatusCode != 200 || !strings.Contains(body, `data-status="connected"`) {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	checkLinkHeaders(t, resp)
	status, o, err := page.Status(ctx)
	if err != nil || status != link.OutcomeConnected || o.Payload == nil {
		t.Fatalf("status = %q %+v %v", status, o, err)
	}
	p := o.Payload
	if p.BrokerType != linkvault.BrokerCoinbase || p.BrokerName != "Coinbase" || len(p.AccountTokens) != 1 ||
		p.BrokerBrandInfo.BrokerLogo == "" || !strings.HasPrefix(p.BrokerBrandInfo.LogoLightURL, st.URL+"/link/assets/logos/") {
		t.Fatalf("payload = %+v", p)
	}
	at := p.AccountTokens[0]
	if at.TokenID == "" || at.AccessToken != at.TokenID || at.Account.AccountID == "" || at.Account.MeshAccountID == "" || at.Account.Fund <= 0 {
		t.Fatalf("account token = %+v", at)
	}
	c, err := st.DB.GetConnection(ctx, "app1", at.TokenID)
	if err != nil || c.UserID != "alice" || c.Scope != permWrite || c.Status != linkvault.StatusActive {
		t.Fatalf("stored connection = %+v, %v", c, err)
	}

	// The state is single use: the same callback again is refused and changes nothing.
	resp, body = get(t, cb.String())
	if resp.StatusCode != 400 || !strings.Contains(body, "expired") {
		t.Fatalf("replayed callback: %d %s", resp.StatusCode, body)
	}
	if _, o2, _ := page.Status(ctx); o2 == nil || o2.Status != link.OutcomeConnected {
		t.Fatalf("replay changed the outcome: %+v", o2)
	}
}

func TestOAuthStateAndPKCEMismatch(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	alice := st.OpenPage(t, "app1", permRead, "alice")
	bob := st.OpenPage(t, "app1", permRead, "bob")
	aliceAuth, err := alice.StartOAuth(ctx, "coinbase", "")
	if err != nil {
		t.Fatal(err)
	}
	bobAuth, err := bob.StartOAuth(ctx, "coinbase", "")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := exchangesim.Consent(ctx, nil, aliceAuth, "alice-x", "pw", false)
	if err != nil {
		t.Fatal(err)
	}
	bu, _ := url.Parse(bobAuth)

	withState := func(state string) string {
		u := *cb
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
		return u.String()
	}
	for name, state := range map[string]string{"unknown state": linkvault.NewRandomID(24), "no state": "", "garbage state": "../x"} {
		resp, body := get(t, withState(state))
		if resp.StatusCode != 400 || !strings.Contains(body, "expired") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}

	// Alice's code delivered with Bob's state: the exchange checks Bob's PKCE verifier
	// against Alice's challenge and refuses; Bob gets a failure, no connection.
	resp, body := get(t, withState(bu.Query().Get("state")))
	if resp.StatusCode != 200 || !strings.Contains(body, `data-status="failed"`) {
		t.Fatalf("mismatched code: %d %s", resp.StatusCode, body)
	}
	if _, o, _ := bob.Status(ctx); o == nil || o.Status != link.OutcomeFailed || o.ErrorType != linkvault.ErrTypeProviderRejected {
		t.Fatalf("bob's outcome = %+v", o)
	}
	if cs, _ := st.DB.ListUserConnections(ctx, "app1", "bob"); len(cs) != 0 {
		t.Fatalf("bob got a connection from alice's code: %d", len(cs))
	}
	// Alice's own state is untouched and still completes (her code was spent by the
	// refused exchange, so the exchange refuses it too: nothing is connected for her).
	if status, _, _ := alice.Status(ctx); status != "pending" {
		t.Fatalf("alice's flow = %q, want still pending", status)
	}
}

func TestReturnUserTokensAreFilteredSilently(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	connect := func(client string, perm linkvault.Permission, user string) string {
		t.Helper()
		p, err := linktest.Connect(ctx, nil, st.LinkToken(t, client, perm, user), "coinbase", user+"-"+client+"-"+string(perm), "pw")
		if err != nil {
			t.Fatal(err)
		}
		return p.AccountTokens[0].TokenID
	}
	mine := connect("app1", permWrite, "alice")
	otherUser := connect("app1", permWrite, "bob")
	otherClient := connect("app2", permWrite, "alice")
	otherScope := connect("app1", permRead, "alice")
	if mine == otherScope {
		t.Fatalf("read and write connections share a tokenId")
	}
	removed := connect("app1", permWrite, "carol")
	if _, err := st.Vault.Remove(ctx, "app1", removed, ""); err != nil {
		t.Fatal(err)
	}

	page := st.OpenPage(t, "app1", permWrite, "alice")
	known, err := page.Known(ctx, otherUser, otherClient, mine, otherScope, removed, linkvault.NewTokenID(), "../../etc/passwd", mine)
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != 1 || known[0].TokenID != mine || known[0].Status != link.KnownActive || known[0].Payload == nil ||
		known[0].Payload.AccountTokens[0].AccessToken != mine {
		t.Fatalf("known = %+v, want exactly alice's write connection", known)
	}
	// Only foreign tokens: the same empty answer as no tokens at all.
	none, err := page.Known(ctx, otherUser, otherClient, otherScope)
	if err != nil || len(none) != 0 {
		t.Fatalf("foreign tokens: %+v %v", none, err)
	}
	// Foreign tokens can neither be re-authenticated nor read through this page.
	if _, err := page.StartOAuth(ctx, "coinbase", otherUser); !isNotFound(err) {
		t.Fatalf("re-auth of another user's token: %v", err)
	}
	var h linkvault.Holdings
	if err := page.Call(ctx, http.MethodPost, "/link/api/holdings", map[string]string{"tokenId": otherClient}, &h); !isNotFound(err) {
		t.Fatalf("holdings of another client's token: %v", err)
	}
}

// revokedConnection connects userID's Coinbase account (exchange user exUser) through
// Link and revokes its grant at the exchange: a connection that needs the user to
// re-authenticate. It returns its tokenId.
func revokedConnection(t *testing.T, st *linktest.Stack, perm linkvault.Permission, userID, exUser string) string {
	t.Helper()
	p, err := linktest.Connect(t.Context(), nil, st.LinkToken(t, "app1", perm, userID), "coinbase", exUser, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Sim.Coinbase.RevokeUserGrants(exUser); err != nil {
		t.Fatal(err)
	}
	return p.AccountTokens[0].TokenID
}

func isNotFound(err error) bool {
	var apiErr *linktest.APIError
	return errors.As(err, &apiErr) && apiErr.Status == linkvault.StatusNotFound && apiErr.ErrorType == linkvault.ErrTypeTokenNotFound
}

func TestReauthAfterRevocationKeepsTheTokenID(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	tokenID := revokedConnection(t, st, permRead, "alice", "alice-re")

	page := st.OpenPage(t, "app1", permRead, "alice")
	var h linkvault.Holdings
	err := page.Call(ctx, http.MethodPost, "/link/api/holdings", map[string]string{"tokenId": tokenID}, &h)
	var apiErr *linktest.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorType != linkvault.ErrTypeReauthRequired {
		t.Fatalf("holdings with a revoked grant: %v", err)
	}
	known, err := page.Known(ctx, tokenID)
	if err != nil || len(known) != 1 || known[0].Status != link.KnownReauthRequired || known[0].Payload != nil {
		t.Fatalf("known = %+v %v", known, err)
	}
	again, err := page.ConnectOAuth(ctx, "coinbase", "alice-re", "pw", tokenID)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.AccountTokens[0].TokenID; got != tokenID {
		t.Fatalf("re-auth reported tokenId %s, want the same %s", got, tokenID)
	}
	c, err := st.DB.GetConnection(ctx, "app1", tokenID)
	if err != nil || c.Status != linkvault.StatusActive {
		t.Fatalf("after re-auth: %+v %v", c, err)
	}
	if err := page.Call(ctx, http.MethodPost, "/link/api/holdings", map[string]string{"tokenId": tokenID}, &h); err != nil || len(h.CryptocurrencyPositions) == 0 {
		t.Fatalf("holdings after re-auth: %+v %v", h, err)
	}
}

// TestAPIKeyConnectAndReauth: Binance connects with an API key the user creates at the
// exchange; a key that does not fit the session's scope is refused with a reason the
// page can show, and a deleted key is replaced under the same tokenId.
func TestAPIKeyConnectAndReauth(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	if err := st.Sim.Binance.CreateUser(exchangesim.User{Username: "bea", Password: "right"}); err != nil {
		t.Fatal(err)
	}
	page := st.OpenPage(t, "app1", permRead, "bea")
	var instructions *linkvault.APIKeyInstructions
	for _, in := range page.Boot.Integrations {
		if in.Type == string(linkvault.BrokerBinance) {
			instructions = in.APIKey
			if in.AuthKind != string(linkvault.AuthAPIKey) {
				t.Fatalf("Binance auth kind %q", in.AuthKind)
			}
		}
	}
	if instructions == nil || !strings.HasSuffix(instructions.ManageURL, exchangesim.BinanceKeyPagePath) ||
		len(instructions.ReadPermissions) == 0 || len(instructions.TrustedIPs) == 0 {
		t.Fatalf("boot instructions = %+v", instructions)
	}
	bn := string(linkvault.BrokerBinance)
	errType := func(err error) string {
		t.Helper()
		var apiErr *linktest.APIError
		if errors.As(err, &apiErr) {
			return apiErr.ErrorType
		}
		if err != nil {
			t.Fatal(err)
		}
		return ""
	}
	key := func(perms exchangesim.APIKeyPermissions) exchangesim.APIKey {
		k, err := st.Sim.Binance.CreateAPIKey("bea", perms)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	withdraw := key(exchangesim.APIKeyPermissions{Withdrawals: true, TrustedIPs: instructions.TrustedIPs})
	trading := key(exchangesim.APIKeyPermissions{Trading: true})
	refusals := []struct {
		name, key, secret, want string
	}{
		{"not a key", "hunter2", "secret", link.ErrTypeInvalidAPIKey},
		{"wrong secret", withdraw.Key, trading.Secret, link.ErrTypeInvalidAPIKey},
		{"unknown key", strings.Repeat("Q", 64), trading.Secret, link.ErrTypeInvalidAPIKey},
		{"withdrawals on a read session", withdraw.Key, withdraw.Secret, link.ErrTypeAPIKeyCanWithdraw},
		{"trading allowed", trading.Key, trading.Secret, link.ErrTypeAPIKeyTooPowerful},
		{"no secret", withdraw.Key, "", linkvault.ErrTypeInvalidRequest},
	}
	for _, r := range refusals {
		if _, err := page.ConnectAPIKey(ctx, bn, r.key, r.secret, ""); errType(err) != r.want {
			t.Fatalf("%s: %v, want %s", r.name, err, r.want)
		}
	}
	k, err := page.CreateAPIKey(ctx, bn, "bea", "right")
	if err != nil {
		t.Fatal(err)
	}
	p, err := page.ConnectAPIKey(ctx, bn, k.Key, k.Secret, "")
	if err != nil {
		t.Fatal(err)
	}
	tokenID := p.AccountTokens[0].TokenID
	if p.BrokerType != linkvault.BrokerBinance || tokenID == "" || p.AccountTokens[0].AccessToken != tokenID {
		t.Fatalf("payload = %+v", p)
	}
	var h linkvault.Holdings
	if err := page.Call(ctx, http.MethodPost, "/link/api/holdings", map[string]string{"tokenId": tokenID}, &h); err != nil {
		t.Fatal(err)
	}

	// The user deletes the key at Binance: the connection needs a new key.
	if _, err := st.Sim.Binance.RevokeUserGrants("bea"); err != nil {
		t.Fatal(err)
	}
	if err := page.Call(ctx, http.MethodPost, "/link/api/holdings", map[string]string{"tokenId": tokenID}, &h); err == nil {
		t.Fatal("holdings with a deleted key")
	}
	known, err := page.Known(ctx, tokenID)
	if err != nil || len(known) != 1 || known[0].Status != link.KnownReauthRequired {
		t.Fatalf("known = %+v %v", known, err)
	}
	k2, err := page.CreateAPIKey(ctx, bn, "bea", "right")
	if err != nil {
		t.Fatal(err)
	}
	again, err := page.ConnectAPIKey(ctx, bn, k2.Key, k2.Secret, tokenID)
	if err != nil || again.AccountTokens[0].TokenID != tokenID {
		t.Fatalf("re-auth = %+v, %v; want tokenId %s", again, err, tokenID)
	}
	c, err := st.DB.GetConnection(ctx, "app1", tokenID)
	if err != nil || c.Status != linkvault.StatusActive {
		t.Fatalf("after re-auth: %+v %v", c, err)
	}
	if err := page.Call(ctx, http.MethodPost, "/link/api/holdings", map[string]string{"tokenId": tokenID}, &h); err != nil {
		t.Fatalf("holdings after re-auth: %v", err)
	}
}

func TestLinkStaticFilesAndSDK(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	tests := []struct {
		path, contentType string
		cors              bool
	}{
		{"/sdk/link.js", "text/javascript; charset=utf-8", true},
		{"/sdk/link.d.ts", "text/plain; charset=utf-8", true},
		{"/sdk/package.json", "application/json; charset=utf-8", true},
		{"/link/assets/link.js", "text/javascript; charset=utf-8", false},
		{"/link/assets/link.css", "text/css; charset=utf-8", false},
		{"/link/assets/logos/coinbase.svg", "image/svg+xml", false},
	}
	for _, tt := range tests {
		resp, body := get(t, st.URL+tt.path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.contentType || len(body) == 0 {
			t.Errorf("%s: %d %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("ETag") == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
			t.Errorf("%s: headers %v", tt.path, resp.Header)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin") == "*"; got != tt.cors {
			t.Errorf("%s: CORS = %v, want %v", tt.path, got, tt.cors)
		}
		req, _ := http.NewRequest(http.MethodGet, st.URL+tt.path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s: conditional GET = %v %v", tt.path, r2, err)
		} else {
			r2.Body.Close()
		}
	}
	for _, p := range []string{"/sdk/web.go", "/link/assets/../web.go", "/link/assets/nope.js", "/link/assets/", "/link/api/nope"} {
		if resp, _ := get(t, st.URL+p); resp.StatusCode != 404 && resp.StatusCode != 301 && resp.StatusCode != 307 {
			t.Errorf("%s: %d, want not found", p, resp.StatusCode)
		}
	}
	// The SDK is small: it is loaded into every app page (12 KiB with its comments,
	// the accessible modal included; Mesh's package is several times that).
	if _, body := get(t, st.URL+"/sdk/link.js"); len(body) > 12<<10 {
		t.Errorf("SDK is %d bytes", len(body))
	}
}

func TestLinkTransferNeedsWriteAndRunsOnce(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ctx := t.Context()
	connect := func(perm linkvault.Permission) (*linktest.Page, string) {
		t.Helper()
		page := st.OpenPage(t, "app1", perm, "tess")
		p, err := page.ConnectOAuth(ctx, "coinbase", "tess-"+string(perm), "pw", "")
		if err != nil {
			t.Fatal(err)
		}
		return page, p.AccountTokens[0].TokenID
	}
	req := func(tokenID string) map[string]any {
		return map[string]any{"tokenId": tokenID, "symbol": "ETH", "network": "ethereum",
			"toAddress": "0x1111111111111111111111111111111111111111", "amount": 0.5}
	}

	readPage, readToken := connect(permRead)
	var apiErr *linktest.APIError
	if err := readPage.Call(ctx, http.MethodPost, "/link/api/transfer/preview", req(readToken), nil); !errors.As(err, &apiErr) || apiErr.ErrorType != linkvault.ErrTypeScopeMismatch {
		t.Fatalf("transfer from a read session: %v", err)
	}

	writePage, writeToken := connect(permWrite)
	var pv struct {
		linkvault.TransferPreview
		ClientTransactionID string `json:"clientTransactionId"`
	}
	if err := writePage.Call(ctx, http.MethodPost, "/link/api/transfer/preview", req(writeToken), &pv); err != nil {
		t.Fatal(err)
	}
	if pv.ClientTransactionID == "" || pv.Amount != linkvault.MustDecimal("0.5") || pv.Symbol != "ETH" {
		t.Fatalf("preview = %+v", pv)
	}
	exec := req(writeToken)
	exec["clientTransactionId"], exec["previewId"] = pv.ClientTransactionID, pv.PreviewID
	var first, second linkvault.TransferResult
	if err := writePage.Call(ctx, http.MethodPost, "/link/api/transfer/execute", exec, &first); err != nil {
		t.Fatal(err)
	}
	if err := writePage.Call(ctx, http.MethodPost, "/link/api/transfer/execute", exec, &second); err != nil {
		t.Fatal(err)
	}
	if first.TransferID == "" || first.TransferID != second.TransferID {
		t.Fatalf("executes gave %q and %q, want one transfer", first.TransferID, second.TransferID)
	}
	if n := st.Sim.Coinbase.Stats().Transfers; n != 1 {
		t.Fatalf("the exchange executed %d transfers", n)
	}
	// The same user's read-scoped connection cannot be used from a write session.
	if err := writePage.Call(ctx, http.MethodPost, "/link/api/transfer/preview", req(readToken), nil); !isNotFound(err) {
		t.Fatalf("transfer with a token of another scope: %v", err)
	}
}

// TestThemeStylesheets: the dark palette (dark.css) is loaded for th=dark, for
// th=system only when the system prefers dark, and not at all for th=light.
func TestThemeStylesheets(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	dark := `<link rel="stylesheet" href="/link/assets/dark.css">`
	system := `<link rel="stylesheet" href="/link/assets/dark.css" media="(prefers-color-scheme: dark)">`
	for _, tc := range []struct {
		theme     string
		want, not []string
	}{
		{"dark", []string{dark}, []string{system}},
		{"system", []string{system}, []string{dark}},
		{"light", nil, []string{"dark.css"}},
	} {
		t.Run(tc.theme, func(t *testing.T) {
			raw, err := base64.StdEncoding.DecodeString(st.LinkToken(t, "app1", permWrite, "alice"))
			if err != nil {
				t.Fatal(err)
			}
			page := string(raw) + "?th=" + tc.theme
			for _, u := range []string{page, page} { // the Link page, then the expired-link message page
				_, body := get(t, u)
				for _, w := range tc.want {
					if !strings.Contains(body, w) {
						t.Errorf("%s lacks %s", u, w)
					}
				}
				for _, n := range tc.not {
					if strings.Contains(body, n) {
						t.Errorf("%s has %s", u, n)
					}
				}
			}
		})
	}
	if resp, _ := get(t, st.URL+"/link/assets/dark.css"); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("dark.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestLinkPageFrameAncestorsPerClient (issue 15.5): the Link page may be framed only by
// its client's allowed origins (`clients update --allowed-origin`): none by default
// (main sent frame-ancestors * for every client), the listed ones, or any site only
// when the operator set "*". The boot data carries the same list for the page's
// postMessage checks, and the client's name.
func TestLinkPageFrameAncestorsPerClient(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	ancestors := func(t *testing.T) (string, string) {
		t.Helper()
		u, err := linktest.DecodeLinkToken(st.LinkToken(t, "app1", permRead, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, u.String())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page: %d", resp.StatusCode)
		}
		checkLinkHeaders(t, resp)
		csp := resp.Header.Get("Content-Security-Policy")
		_, fa, _ := strings.Cut(csp, "frame-ancestors ")
		return fa, html.UnescapeString(body)
	}
	if fa, body := ancestors(t); fa != "'none'" || !strings.Contains(body, `"allowedOrigins":[]`) {
		t.Fatalf("no allowed origins: frame-ancestors %q", fa)
	}
	st.AllowOrigins(t, "app1", "https://app.example", "http://127.0.0.1:8081")
	if fa, body := ancestors(t); fa != "https://app.example http://127.0.0.1:8081" ||
		!strings.Contains(body, `"allowedOrigins":["https://app.example","http://127.0.0.1:8081"]`) {
		t.Fatalf("two allowed origins: frame-ancestors %q", fa)
	}
	st.AllowOrigins(t, "app1", "*")
	if fa, _ := ancestors(t); fa != "*" {
		t.Fatalf("operator's *: frame-ancestors %q", fa)
	}
	// Assets and the expired page hold nothing of a session: any site may frame them.
	resp, _ := get(t, st.URL+"/link/"+linkvault.NewRandomID(24))
	if fa := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(fa, "frame-ancestors *") {
		t.Fatalf("expired page CSP %q", fa)
	}
}
