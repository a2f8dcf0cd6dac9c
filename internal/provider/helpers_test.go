package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

var simEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testRedirect = "http://127.0.0.1:9/callback"

// simFixture is one simulated exchange on a loopback server, with the clock shared by
// the exchange and the adapter under test.
type simFixture struct {
	ex    *exchangesim.Exchange
	srv   *httptest.Server
	clock *exchangesim.ManualClock
	deps  Deps
	rec   *recorder // every request of adapters built with deps
}

func newSimFixture(t *testing.T, build func(exchangesim.Config) *exchangesim.Exchange, cfg exchangesim.Config) *simFixture {
	t.Helper()
	clock := exchangesim.NewManualClock(simEpoch)
	cfg.Now = clock.Now
	ex := build(cfg)
	srv := httptest.NewServer(ex)
	t.Cleanup(srv.Close)
	rec := newRecorder()
	return &simFixture{ex: ex, srv: srv, clock: clock, deps: Deps{Now: clock.Now, Transport: rec}, rec: rec}
}

func (f *simFixture) oauthConfig(authPath string) Config {
	return simOAuthConfig(f.srv.URL, authPath)
}

// simOAuthConfig is an OAuth adapter's configuration against one simulated exchange
// (the same as simprovider.OAuthConfig, which this package cannot import).
func simOAuthConfig(baseURL, authPath string) Config {
	return Config{
		AuthURL: baseURL + authPath, TokenURL: baseURL + "/oauth2/token", RevokeURL: baseURL + "/oauth2/revoke",
		APIBaseURL: baseURL, ClientID: exchangesim.DemoClientID, ClientSecret: linkvault.NewSecret(exchangesim.DemoClientSecret),
	}
}

// connect runs the whole OAuth dance: consent form posted by an HTTP client, then the
// code exchange with the PKCE verifier.
func connect(t *testing.T, p linkvault.OAuthProvider, username, password string) linkvault.Credential {
	t.Helper()
	c, err := tryConnect(p, username, password)
	if err != nil {
		t.Fatalf("connect %s: %v", username, err)
	}
	return c
}

func tryConnect(p linkvault.OAuthProvider, username, password string) (linkvault.Credential, error) {
	ctx := context.Background()
	state, verifier := linkvault.NewRandomID(16), linkvault.NewRandomID(32)
	loc, err := exchangesim.Consent(ctx, nil, p.AuthCodeURL(linkvault.AuthCodeRequest{State: state, CodeVerifier: verifier,
		RedirectURL: testRedirect, Scope: linkvault.PermissionWrite}), username, password, false)
	if err != nil {
		return linkvault.Credential{}, err
	}
	if got := loc.Query().Get("state"); got != state {
		return linkvault.Credential{}, fmt.Errorf("state = %q, want %q", got, state)
	}
	code := loc.Query().Get("code")
	if code == "" {
		return linkvault.Credential{}, fmt.Errorf("no code in redirect (error=%q)", loc.Query().Get("error"))
	}
	return p.Exchange(ctx, code, verifier, testRedirect)
}

// authQuery is the query of an authorization URL an adapter built.
func authQuery(t *testing.T, authURL string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// wantProviderError checks that err is a *linkvault.ProviderError of kind and code
// (code "" matches any).
func wantProviderError(t *testing.T, err error, kind linkvault.ProviderErrorKind, code string) {
	t.Helper()
	_ = providerError(t, err, kind, code)
}

// providerError is wantProviderError for callers that go on to inspect the error: it
// returns the matched *linkvault.ProviderError.
func providerError(t *testing.T, err error, kind linkvault.ProviderErrorKind, code string) *linkvault.ProviderError {
	t.Helper()
	var pe *linkvault.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want *ProviderError %s", err, err, kind)
	}
	if pe.Kind != kind || (code != "" && pe.Code != code) {
		t.Fatalf("error = %v, want kind %s code %q", err, kind, code)
	}
	return pe
}

// assertNoLeak checks that text does not appear anywhere in the error's rendering or
// its chain.
func assertNoLeak(t *testing.T, err error, text string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
			if strings.Contains(s, text) {
				t.Fatalf("error leaks upstream text: %s", s)
			}
		}
	}
}

// simConfigs points every adapter at a simulator cluster (as simprovider.Configs does).
func simConfigs(c *exchangesim.Cluster) Configs {
	return Configs{
		Coinbase: simOAuthConfig(c.Coinbase.URL, "/oauth2/auth"),
		Uphold:   simOAuthConfig(c.Uphold.URL, "/authorize/"+exchangesim.DemoClientID),
		Binance: Config{APIBaseURL: c.Binance.URL, AuthURL: c.Binance.URL + exchangesim.BinanceKeyPagePath,
			TrustedIPs: []string{"127.0.0.1", "::1"}},
		Sandbox: simOAuthConfig(c.Sandbox.URL, "/oauth2/auth"),
	}
}

// recorded is one request an adapter sent, reduced to what its exchange's reference
// specifies: method, path, query, the headers that matter, and the body.
type recorded struct {
	Method, Path string
	Query        url.Values
	RawQuery     string // as sent (a Binance signature covers it byte for byte)
	Header       http.Header
	Body         string
}

// String is "METHOD /path?query" with the query sorted.
func (r recorded) String() string {
	if len(r.Query) == 0 {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + "?" + r.Query.Encode()
}

// recorder is an http.RoundTripper that keeps every request it forwards.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

func newRecorder() *recorder { return &recorder{next: http.DefaultTransport} }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), RawQuery: req.URL.RawQuery, Header: req.Header.Clone(), Body: string(body)})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// take returns the requests recorded since the last take.
func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// wantRequests checks the requests an operation sent, in order, as "METHOD /path?query"
// lines (queries with values that vary per run, such as timestamp and signature, are
// checked by the caller and dropped here with drop).
func wantRequests(t *testing.T, op string, got []recorded, drop []string, want ...string) {
	t.Helper()
	lines := make([]string, len(got))
	for i, r := range got {
		q := url.Values{}
		for k, v := range r.Query {
			if !slices.Contains(drop, k) {
				q[k] = v
			}
		}
		r.Query = q
		lines[i] = r.String()
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("%s sent\n  %s\nwant\n  %s", op, strings.Join(lines, "\n  "), strings.Join(want, "\n  "))
	}
}

// wantWithdrawalAndAddresses checks GetTransfer and DepositAddress on a connection that
// withdrew 0.1 ETH for a network fee of 0.0008 as ref: GetTransfer reads that
// withdrawal back and answers not_found for missing; the ETH deposit address is an
// ethereum one, and the address other asks for is on its network and another address.
func wantWithdrawalAndAddresses(t *testing.T, p linkvault.Provider, c linkvault.Credential, ref, missing linkvault.TransferRef,
	other linkvault.DepositAddressRequest) {
	t.Helper()
	ctx := context.Background()
	got, err := p.GetTransfer(ctx, c, ref)
	if err != nil || got.TransferID != ref.TransferID || got.Amount != dec("0.1") || got.Fee != dec("0.0008") || got.Direction != linkvault.TransferWithdrawal {
		t.Fatalf("GetTransfer = %+v, %v", got, err)
	}
	_, err = p.GetTransfer(ctx, c, missing)
	wantProviderError(t, err, linkvault.ProviderRejected, "not_found")

	a, err := p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: "ETH"})
	if err != nil || a.Network != "ethereum" || !strings.HasPrefix(a.Address, "0x") {
		t.Fatalf("DepositAddress = %+v, %v", a, err)
	}
	b, err := p.DepositAddress(ctx, c, other)
	if err != nil || b.Network != other.Network || b.Address == a.Address {
		t.Fatalf("%s address = %+v, %v", other.Network, b, err)
	}
}

func dec(s string) linkvault.Decimal { return linkvault.MustDecimal(s) }
