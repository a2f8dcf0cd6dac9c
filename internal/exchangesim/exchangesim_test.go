package exchangesim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	ex    *Exchange
	srv   *httptest.Server
	clock *ManualClock
}

func newFixture(t *testing.T, build func(Config) *Exchange, cfg Config) *fixture {
	t.Helper()
	clock := NewManualClock(epoch)
	cfg.Now = clock.Now
	ex := build(cfg)
	srv := httptest.NewServer(ex)
	t.Cleanup(srv.Close)
	return &fixture{ex: ex, srv: srv, clock: clock}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

// token posts to the token endpoint with HTTP Basic client authentication.
func (f *fixture) token(t *testing.T, form url.Values) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DemoClientID, DemoClientSecret)
	return do(t, req)
}

func (f *fixture) refresh(t *testing.T, rt string) answer {
	t.Helper()
	return f.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func (f *fixture) get(t *testing.T, path, accessToken string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	return do(t, req)
}

func coinbaseErrorID(a answer) string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	m, _ := errs[0].(map[string]any)
	s, _ := m["id"].(string)
	return s
}

func TestRefreshReuseRevokesWholeGrant(t *testing.T) {
	f := newFixture(t, NewCoinbase, Config{})
	g, err := f.ex.MintGrant("alice")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := f.ex.MintGrant("alice") // a second, independent grant of the same user

	r1 := f.refresh(t, g.RefreshToken)
	if r1.status != 200 {
		t.Fatalf("refresh: %d %s", r1.status, r1.raw)
	}
	rt2, at2 := r1.body["refresh_token"].(string), r1.body["access_token"].(string)
	if rt2 == "" || rt2 == g.RefreshToken || at2 == g.AccessToken {
		t.Fatal("refresh did not rotate both tokens")
	}

	replay := f.refresh(t, g.RefreshToken)
	if replay.status != 400 || replay.body["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %s, want 400 invalid_grant", replay.status, replay.raw)
	}
	if a := f.refresh(t, rt2); a.status != 400 || a.body["error"] != "invalid_grant" {
		t.Fatalf("descendant refresh token still works: %d %s", a.status, a.raw)
	}
	for _, at := range []string{g.AccessToken, at2} {
		if a := f.get(t, "/v2/user", at); a.status != 401 || coinbaseErrorID(a) != "revoked_token" {
			t.Fatalf("access token of the revoked grant: %d %s", a.status, a.raw)
		}
	}
	if a := f.get(t, "/v2/user", other.AccessToken); a.status != 200 {
		t.Fatalf("an unrelated grant was hit: %d %s", a.status, a.raw)
	}
	s := f.ex.Stats()
	if s.RefreshesOK != 1 || s.RefreshReuseDetected != 1 || s.GrantsRevoked != 1 || s.RefreshesRejected != 1 || s.LiveGrants != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestRefreshTokenExpiryIsNotReuse(t *testing.T) {
	f := newFixture(t, NewCoinbase, Config{RefreshTTL: time.Hour})
	g, _ := f.ex.MintGrant("bob")
	f.clock.Advance(time.Hour)
	if a := f.refresh(t, g.RefreshToken); a.status != 400 || a.body["error"] != "invalid_grant" {
		t.Fatalf("expired refresh token: %d %s", a.status, a.raw)
	}
	if s := f.ex.Stats(); s.RefreshReuseDetected != 0 || s.RefreshesRejected != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestAccessTokenLifetimes(t *testing.T) {
	tests := []struct {
		name    string
		build   func(Config) *Exchange
		path    string
		ttl     time.Duration // 0: never expires
		refresh bool
	}{
		{"coinbase", NewCoinbase, "/v2/user", time.Hour, true},
		{"sandbox", NewSandbox, "/v2/user", 5 * time.Minute, true},
		{"uphold", NewUphold, "/v0/me", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.build, Config{})
			g, _ := f.ex.MintGrant("carl")
			if (g.RefreshToken != "") != tt.refresh {
				t.Fatalf("refresh token issued = %v, want %v", g.RefreshToken != "", tt.refresh)
			}
			if tt.ttl == 0 {
				if g.ExpiresIn != nil {
					t.Fatalf("expires_in = %d, want null", *g.ExpiresIn)
				}
				f.clock.Advance(10 * 365 * 24 * time.Hour)
				if a := f.get(t, tt.path, g.AccessToken); a.status != 200 {
					t.Fatalf("non-expiring token refused: %d", a.status)
				}
				return
			}
			if g.ExpiresIn == nil || *g.ExpiresIn != int64(tt.ttl/time.Second) {
				t.Fatalf("expires_in = %v, want %v", g.ExpiresIn, tt.ttl)
			}
			f.clock.Advance(tt.ttl - time.Second)
			if a := f.get(t, tt.path, g.AccessToken); a.status != 200 {
				t.Fatalf("token refused before expiry: %d", a.status)
			}
			f.clock.Advance(time.Second)
			if a := f.get(t, tt.path, g.AccessToken); a.status != 401 || coinbaseErrorID(a) != "expired_token" {
				t.Fatalf("expired token: %d %s", a.status, a.raw)
			}
		})
	}
}

func TestUpholdTokenResponseWireShape(t *testing.T) {
	f := newFixture(t, NewUphold, Config{})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/_sim/grants", strings.NewReader(`{"username":"dee"}`))
	a := do(t, req)
	if a.status != 200 {
		t.Fatalf("mint: %d %s", a.status, a.raw)
	}
	if !strings.Contains(a.raw, `"expires_in":null`) || strings.Contains(a.raw, "refresh_token") {
		t.Fatalf("token response = %s; want expires_in null and no refresh token", a.raw)
	}
}

func TestPasswordChangeKillsOnlyUpholdTokens(t *testing.T) {
	tests := []struct {
		name  string
		build func(Config) *Exchange
		check func(t *testing.T, f *fixture, g TokenResponse) int
		dies  bool
	}{
		{"coinbase", NewCoinbase, func(t *testing.T, f *fixture, g TokenResponse) int { return f.get(t, "/v2/user", g.AccessToken).status }, false},
		{"uphold", NewUphold, func(t *testing.T, f *fixture, g TokenResponse) int { return f.get(t, "/v0/me", g.AccessToken).status }, true},
		// Binance API keys are not tied to the password.
		{"binance", NewBinance, func(t *testing.T, f *fixture, g TokenResponse) int {
			return f.signed(t, http.MethodGet, "/sapi/v1/account/status", g.AccessToken, g.SecretKey, url.Values{}).status
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.build, Config{})
			g, _ := f.ex.MintGrant("eve")
			if err := f.ex.ChangePassword("eve", "new"); err != nil {
				t.Fatal(err)
			}
			want := 200
			if tt.dies {
				want = 401
			}
			if got := tt.check(t, f, g); got != want {
				t.Fatalf("after password change: %d, want %d", got, want)
			}
		})
	}
	if err := NewCoinbase(Config{}).ChangePassword("nobody", "x"); err != ErrUnknownUser {
		t.Fatalf("ChangePassword of an unknown user: %v", err)
	}
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestAuthorizationRequestValidation(t *testing.T) {
	const redirect = "http://127.0.0.1:9/cb"
	valid := url.Values{
		"client_id": {DemoClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"st"},
		"code_challenge": {pkceChallenge("v")}, "code_challenge_method": {"S256"},
	}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range valid {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	tests := []struct {
		name     string
		build    func(Config) *Exchange
		path     string
		query    url.Values
		status   int
		redirErr string // error= in the redirect, for 302
	}{
		{"valid", NewCoinbase, "/oauth2/auth", valid, 200, ""},
		{"unknown client", NewCoinbase, "/oauth2/auth", with("client_id", "intruder"), 400, ""},
		{"relative redirect", NewCoinbase, "/oauth2/auth", with("redirect_uri", "/cb"), 400, ""},
		{"javascript redirect", NewCoinbase, "/oauth2/auth", with("redirect_uri", "javascript:alert(1)"), 400, ""},
		{"token response type", NewCoinbase, "/oauth2/auth", with("response_type", "token"), 302, "unsupported_response_type"},
		{"no state", NewCoinbase, "/oauth2/auth", with("state", ""), 302, "invalid_request"},
		{"no PKCE", NewCoinbase, "/oauth2/auth", with("code_challenge", ""), 302, "invalid_request"},
		{"plain PKCE", NewCoinbase, "/oauth2/auth", with("code_challenge_method", "plain"), 302, "invalid_request"},
		{"sandbox needs PKCE too", NewSandbox, "/oauth2/auth", with("code_challenge", ""), 302, "invalid_request"},
		{"uphold PKCE optional", NewUphold, "/authorize/" + DemoClientID, with("code_challenge", ""), 200, ""},
		{"uphold client in path must match", NewUphold, "/authorize/other", valid, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.build, Config{})
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+tt.path+"?"+tt.query.Encode(), nil)
			a := do(t, req)
			if a.status != tt.status {
				t.Fatalf("status = %d, want %d (%s)", a.status, tt.status, a.raw)
			}
			if tt.status == 302 {
				loc, _ := url.Parse(a.header.Get("Location"))
				if !strings.HasPrefix(loc.String(), redirect) || loc.Query().Get("error") != tt.redirErr || loc.Query().Get("state") != tt.query.Get("state") {
					t.Fatalf("redirect = %s, want error=%s", loc, tt.redirErr)
				}
			}
		})
	}
}

func TestConsentPageIsSelfContained(t *testing.T) {
	f := newFixture(t, NewCoinbase, Config{})
	q := url.Values{
		"client_id": {DemoClientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"},
		"state": {`"><script>x</script>`}, "code_challenge": {pkceChallenge("v")}, "code_challenge_method": {"S256"},
	}
	a := f.get(t, "/oauth2/auth?"+q.Encode(), "")
	for _, want := range []string{`id="authorize"`, `id="deny"`, `name="username"`, `type="password"`, `<form method="post"`} {
		if !strings.Contains(a.raw, want) {
			t.Errorf("consent page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script", "<link", " src=", "@import", "url("} {
		if strings.Contains(a.raw, bad) {
			t.Errorf("consent page contains %q (external asset or unescaped input)", bad)
		}
	}
}

func TestAuthorizationCodeFlow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, NewCoinbase, Config{})
	const redirect = "http://127.0.0.1:9/cb"
	verifier := strings.Repeat("v", 43)
	authURL := f.srv.URL + "/oauth2/auth?" + url.Values{
		"client_id": {DemoClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"xyz"},
		"code_challenge": {pkceChallenge(verifier)}, "code_challenge_method": {"S256"},
	}.Encode()
	newCode := func(t *testing.T) string {
		loc, err := Consent(ctx, nil, authURL, "fay", "pw", false)
		if err != nil {
			t.Fatal(err)
		}
		return loc.Query().Get("code")
	}
	exchange := func(code, verifier string) answer {
		return f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	}

	t.Run("expired code", func(t *testing.T) {
		code := newCode(t)
		f.clock.Advance(authCodeTTL)
		if a := exchange(code, verifier); a.status != 400 || a.body["error"] != "invalid_grant" {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("replayed code revokes the grant", func(t *testing.T) {
		code := newCode(t)
		first := exchange(code, verifier)
		if first.status != 200 {
			t.Fatalf("%d %s", first.status, first.raw)
		}
		if a := exchange(code, verifier); a.status != 400 {
			t.Fatalf("replay: %d", a.status)
		}
		if a := f.get(t, "/v2/user", first.body["access_token"].(string)); a.status != 401 {
			t.Fatalf("token from a replayed code still works: %d", a.status)
		}
	})
	t.Run("form client authentication", func(t *testing.T) {
		code := newCode(t)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
			"code_verifier": {verifier}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret}}
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if a := do(t, req); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DemoClientID, "guess")
		if a := do(t, req); a.status != 401 || a.body["error"] != "invalid_client" {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
}

func TestRevocationEndpoint(t *testing.T) {
	f := newFixture(t, NewCoinbase, Config{})
	g, _ := f.ex.MintGrant("gus")
	revoke := func(form url.Values) answer {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/oauth2/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DemoClientID, DemoClientSecret)
		return do(t, req)
	}
	if a := revoke(url.Values{"token": {"unknown"}}); a.status != 200 {
		t.Fatalf("unknown token: %d, want 200 (RFC 7009)", a.status)
	}
	if a := revoke(url.Values{"token": {g.RefreshToken}, "token_type_hint": {"refresh_token"}}); a.status != 200 {
		t.Fatalf("revoke: %d", a.status)
	}
	if a := f.get(t, "/v2/user", g.AccessToken); a.status != 401 {
		t.Fatalf("access token survived revoking its refresh token: %d", a.status)
	}
	if s := f.ex.Stats(); s.RevocationsReceived != 2 || s.GrantsRevoked != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestTransferIdempotentUnderConcurrency(t *testing.T) {
	f := newFixture(t, NewCoinbase, Config{})
	if err := f.ex.CreateUser(User{Username: "ida", Password: "pw", Balances: map[string]float64{"BTC": 1}}); err != nil {
		t.Fatal(err)
	}
	g, _ := f.ex.MintGrant("ida")
	accts := f.get(t, "/v2/accounts", g.AccessToken)
	id := accts.body["data"].([]any)[0].(map[string]any)["id"].(string)
	body := `{"type":"send","to":"bc1qexampleaddress000000000000000000","amount":"0.25","currency":"BTC","network":"bitcoin","idem":"same"}`
	var wg sync.WaitGroup
	ids := make([]string, 16)
	for i := range ids {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v2/accounts/"+id+"/transactions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+g.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var out struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			ids[i] = out.Data.ID
		})
	}
	wg.Wait()
	for _, got := range ids {
		if got == "" || got != ids[0] {
			t.Fatalf("transfer ids = %v, want one id", ids)
		}
	}
	if b, _ := f.ex.Balances("ida"); b["BTC"] != 0.7499 {
		t.Fatalf("BTC = %v, want 0.7499", b["BTC"])
	}
}

func TestFaultInjectionRates(t *testing.T) {
	f := newFixture(t, NewCoinbase, Config{})
	g, _ := f.ex.MintGrant("jo")
	f.ex.SetFaults(Faults{ErrorRate: 0.5})
	const n = 400
	failed := 0
	for range n {
		if a := f.get(t, "/v2/user", g.AccessToken); a.status == 503 {
			failed++
		}
	}
	// Binomial(400, 0.5): outside [120, 280] has probability far below 1e-15.
	if failed < 120 || failed > 280 {
		t.Fatalf("%d of %d calls failed at rate 0.5", failed, n)
	}
	if s := f.ex.Stats(); s.Injected503 != int64(failed) || s.APICalls != n {
		t.Fatalf("stats = %+v, want %d injected and %d calls", s, failed, n)
	}
	f.ex.SetFaults(Faults{RateLimitRate: 1, RetryAfter: 3 * time.Second})
	a := f.get(t, "/v2/user", g.AccessToken)
	if a.status != 429 || a.header.Get("Retry-After") != "3" {
		t.Fatalf("429 fault: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	// The consent page and the admin API are never faulted.
	if a := f.get(t, "/_sim/stats", ""); a.status != 200 {
		t.Fatalf("admin API faulted: %d", a.status)
	}
}

func TestAdminAPI(t *testing.T) {
	f := newFixture(t, NewUphold, Config{})
	call := func(method, path, body string) answer {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		return do(t, req)
	}
	steps := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/_sim/users", `{"username":"kai","password":"pw","balances":{"BTC":3}}`, 201},
		{"POST", "/_sim/users", `{"username":"kai","password":"pw"}`, 409},
		{"POST", "/_sim/users", `{"username":""}`, 400},
		{"GET", "/_sim/users/kai", "", 200},
		{"GET", "/_sim/users/nobody", "", 404},
		{"POST", "/_sim/grants", `{"username":"kai"}`, 200},
		{"PUT", "/_sim/faults", `{"errorRate":0.25,"rateLimitRate":0.1,"retryAfterSeconds":9,"latencyMs":5,"answerLatencyMs":7,"errorDetail":"x"}`, 204},
		{"PUT", "/_sim/faults", `{"errorRate":2}`, 400},
		{"GET", "/_sim/faults", "", 200},
		{"POST", "/_sim/users/kai/revoke", "", 200},
		{"POST", "/_sim/users/kai/password", `{"password":"pw2"}`, 204},
		{"POST", "/_sim/users/nobody/password", `{"password":"pw2"}`, 404},
		{"POST", "/_sim/expire", "", 204},
		{"GET", "/_sim/stats", "", 200},
		{"GET", "/_sim/", "", 200},
	}
	for _, s := range steps {
		if a := call(s.method, s.path, s.body); a.status != s.status {
			t.Fatalf("%s %s: %d, want %d (%s)", s.method, s.path, a.status, s.status, a.raw)
		}
	}
	if fl := f.ex.Faults(); fl.ErrorRate != 0.25 || fl.RetryAfter != 9*time.Second || fl.Latency != 5*time.Millisecond || fl.AnswerLatency != 7*time.Millisecond {
		t.Fatalf("faults = %+v", fl)
	}
	if b, _ := f.ex.Balances("kai"); b["BTC"] != 3 || len(b) != 1 {
		t.Fatalf("balances = %v", b)
	}
	if s := f.ex.Stats(); s.GrantsRevoked != 1 || s.LiveGrants != 0 || s.TokensIssued != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestManyGrantsRefreshConcurrently(t *testing.T) {
	f := newFixture(t, NewSandbox, Config{})
	const grants = 10000
	tokens := make([]string, grants)
	for i := range tokens {
		g, err := f.ex.MintGrant(fmt.Sprintf("user%05d", i))
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = g.RefreshToken
	}
	// Refresh a slice of them concurrently over HTTP, each once.
	const refreshed = 2000
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures int
	for range 8 {
		wg.Go(func() {
			for rt := range work {
				if a := f.refresh(t, rt); a.status != 200 {
					mu.Lock()
					failures++
					mu.Unlock()
				}
			}
		})
	}
	for _, rt := range tokens[:refreshed] {
		work <- rt
	}
	close(work)
	wg.Wait()
	s := f.ex.Stats()
	if failures != 0 || s.RefreshesOK != refreshed || s.RefreshReuseDetected != 0 || s.LiveGrants != grants || s.TokensIssued != grants+refreshed {
		t.Fatalf("failures %d, stats %+v", failures, s)
	}
}

func TestGrantMemoryStaysBounded(t *testing.T) {
	f := newFixture(t, NewCoinbase, Config{})
	g, _ := f.ex.MintGrant("lea")
	rt := g.RefreshToken
	for range 100 {
		a := f.refresh(t, rt)
		if a.status != 200 {
			t.Fatalf("refresh: %d %s", a.status, a.raw)
		}
		rt = a.body["refresh_token"].(string)
	}
	f.ex.grants.mu.RLock()
	n := len(f.ex.grants.tokens)
	f.ex.grants.mu.RUnlock()
	if max := liveAccessTokensPerGrant + usedRefreshTokensPerGrant + 1; n > max {
		t.Fatalf("%d token records after 100 refreshes of one grant, want at most %d", n, max)
	}
}

func TestClusterStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Start(ctx, ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Flavor{c.Coinbase.URL: FlavorCoinbase, c.Uphold.URL: FlavorUphold, c.Binance.URL: FlavorBinance, c.Sandbox.URL: FlavorSandbox}
	if len(want) != 4 || len(c.Servers()) != 4 {
		t.Fatalf("servers = %v", want)
	}
	for u, flavor := range want {
		resp, err := http.Get(u + "/_sim/")
		if err != nil {
			t.Fatal(err)
		}
		var idx struct {
			Exchange Flavor `json:"exchange"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&idx)
		resp.Body.Close()
		if idx.Exchange != flavor {
			t.Errorf("%s serves %q, want %q", u, idx.Exchange, flavor)
		}
	}
	cancel()
	// Close after ctx is done is safe and idempotent.
	_ = c.Close()
	_ = c.Close()
	if resp, err := http.Get(c.Coinbase.URL + "/_sim/"); err == nil {
		resp.Body.Close()
		t.Fatal("exchange still serving after Close")
	}
}

// TestAnswerLatencyRotatesBeforeAnswering: with Faults.AnswerLatency the refresh is
// processed at once and only its answer is held back, so a client that gives up (or
// dies) meanwhile has spent its refresh token without learning the new one; presenting
// the old one again is a replay. With Faults.Latency the request is not processed at all.
func TestAnswerLatencyRotatesBeforeAnswering(t *testing.T) {
	for _, tt := range []struct {
		name    string
		faults  Faults
		rotated bool
	}{
		{"answer held back: rotated", Faults{AnswerLatency: time.Hour}, true},
		{"request held back: untouched", Faults{Latency: time.Hour}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, NewCoinbase, Config{})
			g, err := f.ex.MintGrant("alice")
			if err != nil {
				t.Fatal(err)
			}
			f.ex.SetFaults(tt.faults)
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL+"/oauth2/token",
				strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.RefreshToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(DemoClientID, DemoClientSecret)
			done := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			for f.ex.Stats().TokenCalls == 0 {
				time.Sleep(time.Millisecond)
			}
			// Give the handler time to run (if it is going to) before the client gives up.
			deadline := time.Now().Add(5 * time.Second)
			for tt.rotated && f.ex.Stats().RefreshesOK == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			cancel()
			if err := <-done; err == nil {
				t.Fatal("the held-back request answered")
			}
			f.ex.SetFaults(Faults{})
			a := f.refresh(t, g.RefreshToken)
			s := f.ex.Stats()
			if tt.rotated {
				if a.status != 400 || s.RefreshesOK != 1 || s.RefreshReuseDetected != 1 {
					t.Fatalf("old token after a held-back answer: %d, stats %+v; want a replay", a.status, s)
				}
				return
			}
			if a.status != 200 || s.RefreshesOK != 1 || s.RefreshReuseDetected != 0 {
				t.Fatalf("old token after a held-back request: %d, stats %+v; want it to work", a.status, s)
			}
		})
	}
}
