package provider

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// adapterCase connects one adapter to its simulated exchange. setup returns the
// adapter under test (with the given timeout) and the credential, obtained through a
// second adapter with the default timeout so a slow machine cannot fail the connect step.
type adapterCase struct {
	name  string
	setup func(t *testing.T, timeout time.Duration) adapterUnderTest
}

type adapterUnderTest struct {
	f          *simFixture
	p, relaxed linkvault.Provider
	c          linkvault.Credential
	gated      bool // the adapter pauses all calls after a 429 (per-IP limits)
}

// twoAdapters builds the adapter under test and a relaxed twin for setup calls.
func twoAdapters[P linkvault.Provider](t *testing.T, timeout time.Duration, build func(time.Duration) (P, error)) (test, relaxed P) {
	t.Helper()
	test, err := build(timeout)
	if err != nil {
		t.Fatal(err)
	}
	if relaxed, err = build(DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	return test, relaxed
}

func withTimeout(cfg Config, timeout time.Duration) Config {
	cfg.Timeout = timeout
	return cfg
}

var adapterCases = []adapterCase{
	{"coinbase", func(t *testing.T, timeout time.Duration) adapterUnderTest {
		f := newSimFixture(t, exchangesim.NewCoinbase, exchangesim.Config{})
		p, relaxed := twoAdapters(t, timeout, func(d time.Duration) (*Coinbase, error) {
			return NewCoinbase(withTimeout(f.oauthConfig("/oauth2/auth"), d), f.deps)
		})
		return adapterUnderTest{f, p, relaxed, connect(t, relaxed, "user1", "pw"), false}
	}},
	{"sandbox", func(t *testing.T, timeout time.Duration) adapterUnderTest {
		f := newSimFixture(t, exchangesim.NewSandbox, exchangesim.Config{})
		p, relaxed := twoAdapters(t, timeout, func(d time.Duration) (*Coinbase, error) {
			return NewSandbox(withTimeout(f.oauthConfig("/oauth2/auth"), d), f.deps)
		})
		return adapterUnderTest{f, p, relaxed, connect(t, relaxed, "user1", "pw"), false}
	}},
	{"uphold", func(t *testing.T, timeout time.Duration) adapterUnderTest {
		f := newSimFixture(t, exchangesim.NewUphold, exchangesim.Config{})
		p, relaxed := twoAdapters(t, timeout, func(d time.Duration) (*Uphold, error) {
			return NewUphold(withTimeout(f.oauthConfig("/authorize/"+exchangesim.DemoClientID), d), f.deps)
		})
		return adapterUnderTest{f, p, relaxed, connect(t, relaxed, "user1", "pw"), true}
	}},
	{"binance", func(t *testing.T, timeout time.Duration) adapterUnderTest {
		f := newSimFixture(t, exchangesim.NewBinance, exchangesim.Config{})
		p, relaxed := twoAdapters(t, timeout, func(d time.Duration) (*Binance, error) {
			return NewBinance(Config{APIBaseURL: f.srv.URL, Timeout: d}, f.deps)
		})
		k, err := f.ex.CreateAPIKey("user1", exchangesim.APIKeyPermissions{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := relaxed.ConnectAPIKey(context.Background(), linkvault.APIKeyRequest{Key: k.Key, Secret: linkvault.NewSecret(k.Secret),
			Scope: linkvault.PermissionRead})
		if err != nil {
			t.Fatal(err)
		}
		return adapterUnderTest{f, p, relaxed, c, true}
	}},
}

// providerOps are the calls every adapter makes upstream with a credential.
var providerOps = []struct {
	name string
	call func(context.Context, linkvault.Provider, linkvault.Credential) error
}{
	{"validate", func(ctx context.Context, p linkvault.Provider, c linkvault.Credential) error {
		return p.Validate(ctx, c)
	}},
	{"refresh", func(ctx context.Context, p linkvault.Provider, c linkvault.Credential) error {
		_, err := p.Refresh(ctx, c)
		return err
	}},
	{"accounts", func(ctx context.Context, p linkvault.Provider, c linkvault.Credential) error {
		_, err := p.Accounts(ctx, c)
		return err
	}},
	{"holdings", func(ctx context.Context, p linkvault.Provider, c linkvault.Credential) error {
		_, err := p.Holdings(ctx, c)
		return err
	}},
}

func TestTransientFaultsAreTransient(t *testing.T) {
	const canary = "CANARY-upstream-body-7f3a"
	faults := []struct {
		name       string
		faults     exchangesim.Faults
		timeout    time.Duration
		status     int
		code       string
		retryAfter time.Duration
	}{
		{name: "503", faults: exchangesim.Faults{ErrorRate: 1, ErrorDetail: canary}, status: 503},
		{name: "429 with Retry-After", faults: exchangesim.Faults{RateLimitRate: 1, RetryAfter: 7 * time.Second, ErrorDetail: canary},
			status: 429, retryAfter: 7 * time.Second},
		{name: "slow beyond timeout", faults: exchangesim.Faults{Latency: time.Minute}, timeout: 50 * time.Millisecond, code: "timeout"},
	}
	for _, ac := range adapterCases {
		for _, ft := range faults {
			t.Run(ac.name+"/"+ft.name, func(t *testing.T) {
				timeout := ft.timeout
				if timeout == 0 {
					timeout = 10 * time.Second
				}
				at := ac.setup(t, timeout)
				f, p, c := at.f, at.p, at.c
				f.ex.SetFaults(ft.faults)
				before := f.ex.Stats().APICalls + f.ex.Stats().TokenCalls
				for i, op := range providerOps {
					err := op.call(context.Background(), p, c)
					pe := providerError(t, err, linkvault.ProviderTransient, ft.code)
					assertNoLeak(t, err, canary)
					if ft.status == 429 && at.gated && i > 0 {
						// An exchange that limits per IP is not called again before its
						// Retry-After: the adapter answers for it.
						if pe.Code != "rate_limited" || pe.StatusCode != 0 || pe.RetryAfter < ft.retryAfter {
							t.Errorf("%s: %+v, want a local rate_limited wait of at least %v", op.name, pe, ft.retryAfter)
						}
						continue
					}
					if ft.status != 0 && pe.StatusCode != ft.status {
						t.Errorf("%s: status = %d, want %d", op.name, pe.StatusCode, ft.status)
					}
					if pe.RetryAfter != ft.retryAfter {
						t.Errorf("%s: RetryAfter = %v, want %v", op.name, pe.RetryAfter, ft.retryAfter)
					}
				}
				if ft.status == 429 && at.gated {
					if calls := f.ex.Stats().APICalls + f.ex.Stats().TokenCalls - before; calls != 1 {
						t.Errorf("%d calls reached the rate-limited exchange, want 1", calls)
					}
					f.clock.Advance(ft.retryAfter + time.Second)
				}
				// The failure consumed nothing: the credential works once the fault clears.
				f.ex.SetFaults(exchangesim.Faults{})
				if _, err := at.relaxed.Refresh(context.Background(), c); err != nil {
					t.Fatalf("Refresh after the fault cleared: %v", err)
				}
				if s := f.ex.Stats(); s.RefreshReuseDetected != 0 {
					t.Fatalf("reuse detected after transient failures: %+v", s)
				}
			})
		}
	}
}

func TestPermanentFailuresAreReauth(t *testing.T) {
	const canary = "CANARY-upstream-body-19c2"
	kills := []struct {
		name string
		kill func(t *testing.T, f *simFixture, p linkvault.Provider, c linkvault.Credential)
		only map[string]bool // adapters the kill applies to; nil: all
		not  map[string]bool // adapters it does not apply to
	}{
		{name: "grant revoked at the exchange", kill: func(t *testing.T, f *simFixture, _ linkvault.Provider, _ linkvault.Credential) {
			if _, err := f.ex.RevokeUserGrants("user1"); err != nil {
				t.Fatal(err)
			}
		}},
		// Binance has no key deletion endpoint: the user deletes the key (the case above).
		{name: "revoked by the adapter", not: map[string]bool{"binance": true}, kill: func(t *testing.T, _ *simFixture, p linkvault.Provider, c linkvault.Credential) {
			if err := p.Revoke(context.Background(), c); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "every key deleted by the exchange", only: map[string]bool{"binance": true},
			kill: func(t *testing.T, f *simFixture, _ linkvault.Provider, _ linkvault.Credential) {
				f.ex.ExpireAccessTokens()
			}},
		{name: "password changed", only: map[string]bool{"uphold": true},
			kill: func(t *testing.T, f *simFixture, _ linkvault.Provider, _ linkvault.Credential) {
				if err := f.ex.ChangePassword("user1", "new-password"); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, ac := range adapterCases {
		for _, k := range kills {
			if k.only != nil && !k.only[ac.name] || k.not[ac.name] {
				continue
			}
			t.Run(ac.name+"/"+k.name, func(t *testing.T) {
				at := ac.setup(t, 0)
				f, p, c := at.f, at.p, at.c
				k.kill(t, f, p, c)
				f.ex.SetFaults(exchangesim.Faults{ErrorDetail: canary})
				for _, op := range providerOps {
					err := op.call(context.Background(), p, c)
					wantProviderError(t, err, linkvault.ProviderReauth, "")
					assertNoLeak(t, err, canary)
				}
			})
		}
	}
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	srv := httptest.NewServer(exchangesim.NewCoinbase(exchangesim.Config{}))
	cfg := simOAuthConfig(srv.URL, "/oauth2/auth")
	srv.Close()
	p, err := NewCoinbase(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c := linkvault.Credential{AccessToken: linkvault.NewSecret("a"), RefreshToken: linkvault.NewSecret("r")}
	wantProviderError(t, p.Validate(context.Background(), c), linkvault.ProviderTransient, "connection_refused")
	_, err = p.Refresh(context.Background(), c)
	wantProviderError(t, err, linkvault.ProviderTransient, "connection_refused")
}

func TestInFlightLimitHonoursContext(t *testing.T) {
	f := newSimFixture(t, exchangesim.NewCoinbase, exchangesim.Config{})
	cfg := f.oauthConfig("/oauth2/auth")
	cfg.MaxInFlight = 1
	p, err := NewCoinbase(cfg, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	release, err := p.http.acquire(context.Background(), "test") // the only slot
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := linkvault.Credential{AccessToken: linkvault.NewSecret("a"), RefreshToken: linkvault.NewSecret("r")}
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderTransient, "canceled")
	_, err = p.Refresh(ctx, c)
	wantProviderError(t, err, linkvault.ProviderTransient, "canceled")
	if s := f.ex.Stats(); s.APICalls != 0 || s.TokenCalls != 0 {
		t.Fatalf("calls went out without a slot: %+v", s)
	}
	release()
	tr, _ := f.ex.MintGrant("slot-user")
	if err := p.Validate(context.Background(), linkvault.Credential{AccessToken: linkvault.NewSecret(tr.AccessToken)}); err != nil {
		t.Fatalf("Validate after the slot freed: %v", err)
	}
}
