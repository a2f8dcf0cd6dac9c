package provider

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

func TestRegistryAgainstCluster(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cluster, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	reg, err := NewRegistry(simConfigs(cluster), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var got []linkvault.BrokerType
	for _, p := range reg.List() {
		got = append(got, p.Integration().Type)
	}
	if len(got) != len(linkvault.BrokerTypes) {
		t.Fatalf("registry lists %v, want %v", got, linkvault.BrokerTypes)
	}
	for i, b := range linkvault.BrokerTypes {
		if got[i] != b {
			t.Fatalf("registry order %v, want %v", got, linkvault.BrokerTypes)
		}
	}

	for _, b := range linkvault.BrokerTypes {
		t.Run(string(b), func(t *testing.T) {
			p, ok := reg.Provider(b)
			if !ok {
				t.Fatal("missing")
			}
			in := p.Integration()
			_, isOAuth := p.(linkvault.OAuthProvider)
			if in.Name == "" || in.BrandColor == "" || len(in.Networks) == 0 || !in.SupportsTransfers || in.SupportsRevocation != isOAuth {
				t.Fatalf("integration metadata incomplete: %+v", in)
			}
			var c linkvault.Credential
			switch pp := p.(type) {
			case linkvault.OAuthProvider:
				if in.AuthKind != linkvault.AuthOAuth {
					t.Fatalf("auth kind %s for an OAuth provider", in.AuthKind)
				}
				c = connect(t, pp, "reg-user", "pw")
			case linkvault.APIKeyProvider:
				if in.AuthKind != linkvault.AuthAPIKey || in.APIKey == nil ||
					in.APIKey.ManageURL != cluster.Binance.URL+exchangesim.BinanceKeyPagePath {
					t.Fatalf("auth kind %s, instructions %+v for an API-key provider", in.AuthKind, in.APIKey)
				}
				k, err := exchangesim.CreateKeyAtPage(ctx, nil, in.APIKey.ManageURL, "reg-user", "pw",
					exchangesim.APIKeyPermissions{Withdrawals: true, TrustedIPs: in.APIKey.TrustedIPs})
				if err != nil {
					t.Fatal(err)
				}
				if c, err = pp.ConnectAPIKey(ctx, linkvault.APIKeyRequest{Key: k.Key, Secret: linkvault.NewSecret(k.Secret),
					Scope: linkvault.PermissionWrite}); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("unexpected provider type %T", p)
			}
			if in.SupportsRefresh != c.CanRefresh() {
				t.Fatalf("SupportsRefresh = %v but credential refreshable = %v", in.SupportsRefresh, c.CanRefresh())
			}
			h, err := p.Holdings(ctx, c)
			if err != nil || len(h.CryptocurrencyPositions) == 0 {
				t.Fatalf("Holdings = %+v, %v", h, err)
			}
			next, err := p.Refresh(ctx, c)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if err := p.Validate(ctx, next); err != nil {
				t.Fatalf("Validate after Refresh: %v", err)
			}
			if err := p.Revoke(ctx, next); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if !in.SupportsRevocation { // the user deletes the key at the exchange
				if _, err := cluster.Binance.RevokeUserGrants("reg-user"); err != nil {
					t.Fatal(err)
				}
			}
			wantProviderError(t, p.Validate(ctx, next), linkvault.ProviderReauth, "")
		})
	}
}

func TestRegistrySkipsUnconfiguredProviders(t *testing.T) {
	reg, err := NewRegistry(Configs{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.List()) != 1 {
		t.Fatalf("List = %d providers, want only Binance (needs no client credentials)", len(reg.List()))
	}
	if _, ok := reg.Provider(linkvault.BrokerBinance); !ok {
		t.Fatal("Binance missing")
	}
	if _, ok := reg.Provider(linkvault.BrokerCoinbase); ok {
		t.Fatal("Coinbase registered without a client id")
	}
	if _, err := NewSandbox(Config{ClientID: "x"}, Deps{}); err == nil {
		t.Fatal("NewSandbox without endpoints succeeded")
	}
}

func TestProductionDefaults(t *testing.T) {
	cb, err := NewCoinbase(Config{ClientID: "id", ClientSecret: linkvault.NewSecret("s")}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if cb.apiBase != "https://api.coinbase.com" || cb.oauth.revokeURL != "https://login.coinbase.com/oauth2/revoke" ||
		cb.oauth.conf.Endpoint.TokenURL != "https://login.coinbase.com/oauth2/token" || cb.http.client.Timeout != DefaultTimeout ||
		cap(cb.http.slots) != DefaultMaxInFlight {
		t.Fatalf("Coinbase defaults: api %s revoke %s token %s timeout %v", cb.apiBase, cb.oauth.revokeURL, cb.oauth.conf.Endpoint.TokenURL, cb.http.client.Timeout)
	}
	up, err := NewUphold(Config{ClientID: "id"}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if up.apiBase != "https://api.uphold.com" || up.oauth.conf.Endpoint.AuthURL != "https://wallet.uphold.com/authorize/id" {
		t.Fatalf("Uphold defaults: %s %s", up.apiBase, up.oauth.conf.Endpoint.AuthURL)
	}
	bn, err := NewBinance(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if bn.apiBase != "https://api.binance.com" || bn.manageURL != BinanceAPIManagementURL || bn.recvWindow != 5*time.Second {
		t.Fatalf("Binance defaults: %s %s %v", bn.apiBase, bn.manageURL, bn.recvWindow)
	}
	if bn, _ := NewBinance(Config{RecvWindow: time.Hour}, Deps{}); bn.recvWindow != time.Minute {
		t.Fatalf("recvWindow %v, want Binance's maximum of 60s", bn.recvWindow)
	}
}

// holdTokenRequests delays every token request until released, so concurrent refreshes
// are guaranteed to overlap.
type holdTokenRequests struct {
	next    http.RoundTripper
	release chan struct{}
	seen    atomic.Int64
}

func (h *holdTokenRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/oauth2/token" {
		h.seen.Add(1)
		<-h.release
	}
	return h.next.RoundTrip(r)
}

func TestConcurrentRefreshesOfOneTokenAreCollapsed(t *testing.T) {
	f := newSimFixture(t, exchangesim.NewSandbox, exchangesim.Config{})
	hold := &holdTokenRequests{next: http.DefaultTransport, release: make(chan struct{})}
	deps := f.deps
	deps.Transport = hold
	p, err := NewSandbox(f.oauthConfig("/oauth2/auth"), deps)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := f.ex.MintGrant("concurrent")
	c := linkvault.Credential{AccessToken: linkvault.NewSecret(tr.AccessToken), RefreshToken: linkvault.NewSecret(tr.RefreshToken)}

	const callers = 8
	var joining sync.WaitGroup
	joining.Add(callers)
	p.oauth.beforeRefreshJoin = joining.Done
	results := make([]linkvault.Credential, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { results[i], errs[i] = p.Refresh(context.Background(), c) })
	}
	// Every caller is at the single-flight gate and the one token request is held in
	// flight; a short grace lets the last caller step through the gate, then the
	// request is released.
	joining.Wait()
	for hold.seen.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(hold.release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
	}
	s := f.ex.Stats()
	if s.RefreshReuseDetected != 0 || s.RefreshesOK != 1 || hold.seen.Load() != 1 {
		t.Fatalf("want one token request and no replay; stats %+v, requests %d", s, hold.seen.Load())
	}
	for i, r := range results {
		if !r.RefreshToken.Equal(results[0].RefreshToken) || r.RefreshToken.Equal(c.RefreshToken) {
			t.Fatalf("caller %d got a different or unrotated credential", i)
		}
	}
}

// TestCatalogueCoversEveryBrokerType: each linkvault.BrokerType has exactly one entry,
// whose adapter says it is that broker.
func TestCatalogueCoversEveryBrokerType(t *testing.T) {
	seen := map[linkvault.BrokerType]bool{}
	for _, e := range catalogue {
		if seen[e.broker] {
			t.Fatalf("%s twice in the catalogue", e.broker)
		}
		seen[e.broker] = true
		cfg := Config{ClientID: "id", ClientSecret: linkvault.NewSecret("s"), APIBaseURL: "https://api.example", AuthURL: "https://auth.example",
			TokenURL: "https://auth.example/token"}
		if why := e.missing(cfg); why != "" {
			t.Fatalf("%s: a full configuration is missing %s", e.broker, why)
		}
		p, err := e.build(cfg, Deps{})
		if err != nil || p.Integration().Type != e.broker {
			t.Fatalf("%s builds %v, %v", e.broker, p, err)
		}
	}
	for _, b := range linkvault.BrokerTypes {
		if !seen[b] {
			t.Errorf("%s has no catalogue entry", b)
		}
	}
}
