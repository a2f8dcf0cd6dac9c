package provider

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

func newCoinbaseFixture(t *testing.T, cfg Config) (*simFixture, *Coinbase) {
	t.Helper()
	f := newSimFixture(t, exchangesim.NewCoinbase, exchangesim.Config{})
	base := f.oauthConfig("/oauth2/auth")
	base.Timeout, base.MaxInFlight = cfg.Timeout, cfg.MaxInFlight
	p, err := NewCoinbase(base, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestCoinbaseConnect(t *testing.T) {
	f, p := newCoinbaseFixture(t, Config{})
	c := connect(t, p, "alice", "pw-alice")
	if c.AccessToken.IsZero() || c.RefreshToken.IsZero() {
		t.Fatal("credential lacks access or refresh token")
	}
	if want := simEpoch.Add(time.Hour); !c.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v (1h by the shared clock)", c.Expiry, want)
	}
	if c.RefreshExpiry.IsZero() || !c.RefreshExpiry.After(simEpoch.Add(365*24*time.Hour)) {
		t.Errorf("RefreshExpiry = %v, want ~18 months ahead", c.RefreshExpiry)
	}
	if c.Subject == "" {
		t.Error("Subject not set from /v2/user")
	}
	if err := p.Validate(context.Background(), c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// The remembered password is enforced on the next consent.
	if _, err := tryConnect(p, "alice", "wrong"); err != exchangesim.ErrConsentRefused {
		t.Fatalf("consent with wrong password: err = %v, want ErrConsentRefused", err)
	}
	if s := f.ex.Stats(); s.CodesExchanged != 1 || s.LoginFailures != 1 {
		t.Errorf("stats = %+v, want 1 code exchanged and 1 login failure", s)
	}
}

func TestCoinbaseAuthCodeURL(t *testing.T) {
	_, p := newCoinbaseFixture(t, Config{})
	u, err := url.Parse(p.AuthCodeURL("st4te", "verifier-verifier-verifier-verifier-1234", testRedirect))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"client_id": exchangesim.DemoClientID, "response_type": "code", "state": "st4te",
		"redirect_uri": testRedirect, "code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge") == "verifier-verifier-verifier-verifier-1234" {
		t.Errorf("code_challenge = %q, want the S256 digest of the verifier", q.Get("code_challenge"))
	}
}

func TestCoinbaseExchangeFailures(t *testing.T) {
	ctx := context.Background()
	_, p := newCoinbaseFixture(t, Config{})
	consent := func(t *testing.T) (code, verifier string) {
		verifier = linkvault.NewRandomID(32)
		loc, err := exchangesim.Consent(ctx, nil, p.AuthCodeURL("s", verifier, testRedirect), "bob", "pw", false)
		if err != nil {
			t.Fatal(err)
		}
		return loc.Query().Get("code"), verifier
	}
	tests := []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"wrong PKCE verifier", func(t *testing.T) error {
			code, _ := consent(t)
			_, err := p.Exchange(ctx, code, linkvault.NewRandomID(32), testRedirect)
			return err
		}},
		{"other redirect URI", func(t *testing.T) error {
			code, v := consent(t)
			_, err := p.Exchange(ctx, code, v, "http://127.0.0.1:9/other")
			return err
		}},
		{"replayed code", func(t *testing.T) error {
			code, v := consent(t)
			if _, err := p.Exchange(ctx, code, v, testRedirect); err != nil {
				t.Fatal(err)
			}
			_, err := p.Exchange(ctx, code, v, testRedirect)
			return err
		}},
		{"unknown code", func(t *testing.T) error {
			_, err := p.Exchange(ctx, "no-such-code", linkvault.NewRandomID(32), testRedirect)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProviderError(t, tt.run(t), linkvault.ProviderReauth, "invalid_grant")
		})
	}
}

func TestCoinbaseWrongClientSecretIsRejected(t *testing.T) {
	f, _ := newCoinbaseFixture(t, Config{})
	cfg := f.oauthConfig("/oauth2/auth")
	cfg.ClientSecret = linkvault.NewSecret("not-the-secret")
	p, err := NewCoinbase(cfg, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := f.ex.MintGrant("carol")
	_, err = p.Refresh(context.Background(), linkvault.Credential{RefreshToken: linkvault.NewSecret(tr.RefreshToken)})
	wantProviderError(t, err, linkvault.ProviderRejected, "invalid_client")
}

func TestCoinbaseDenyConsent(t *testing.T) {
	_, p := newCoinbaseFixture(t, Config{})
	loc, err := exchangesim.Consent(context.Background(), nil, p.AuthCodeURL("s1", linkvault.NewRandomID(32), testRedirect), "dan", "pw", true)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s1" || loc.Query().Get("code") != "" {
		t.Fatalf("deny redirect = %s, want error=access_denied with state and no code", loc)
	}
}

func TestCoinbaseRefreshRotation(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	first := connect(t, p, "erin", "pw")

	f.clock.Advance(30 * time.Minute)
	second, err := p.Refresh(ctx, first)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if second.RefreshToken.IsZero() || second.RefreshToken.Equal(first.RefreshToken) {
		t.Fatal("refresh token was not rotated")
	}
	if second.AccessToken.Equal(first.AccessToken) {
		t.Fatal("access token was not renewed")
	}
	if want := simEpoch.Add(90 * time.Minute); !second.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v", second.Expiry, want)
	}
	if second.Subject != first.Subject {
		t.Errorf("Subject changed on refresh: %q → %q", first.Subject, second.Subject)
	}
	if err := p.Validate(ctx, second); err != nil {
		t.Fatalf("Validate with rotated credential: %v", err)
	}
	third, err := p.Refresh(ctx, second)
	if err != nil {
		t.Fatalf("second Refresh: %v", err)
	}
	if s := f.ex.Stats(); s.RefreshesOK != 2 || s.RefreshReuseDetected != 0 {
		t.Fatalf("stats = %+v, want 2 refreshes and no reuse", s)
	}

	// Replaying the first refresh token is reuse: the whole grant dies.
	_, err = p.Refresh(ctx, first)
	wantProviderError(t, err, linkvault.ProviderReauth, "invalid_grant")
	if s := f.ex.Stats(); s.RefreshReuseDetected != 1 || s.GrantsRevoked != 1 || s.LiveGrants != 0 {
		t.Fatalf("stats = %+v, want 1 reuse detected and the grant revoked", s)
	}
	_, err = p.Refresh(ctx, third)
	wantProviderError(t, err, linkvault.ProviderReauth, "invalid_grant")
	wantProviderError(t, p.Validate(ctx, third), linkvault.ProviderReauth, "revoked_token")
}

func TestCoinbaseExpiredAccessTokenNeedsRefresh(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	c := connect(t, p, "frank", "pw")
	f.clock.Advance(time.Hour + time.Second)
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "expired_token")
	next, err := p.Refresh(ctx, c)
	if err != nil {
		t.Fatalf("Refresh after expiry: %v", err)
	}
	if err := p.Validate(ctx, next); err != nil {
		t.Fatalf("Validate after refresh: %v", err)
	}

	// Expiring everything at the exchange works the same way.
	f.ex.ExpireAccessTokens()
	wantProviderError(t, p.Validate(ctx, next), linkvault.ProviderReauth, "expired_token")
	if _, err := p.Refresh(ctx, next); err != nil {
		t.Fatalf("Refresh after ExpireAccessTokens: %v", err)
	}
}

func TestCoinbaseNoRefreshTokenIsReauth(t *testing.T) {
	_, p := newCoinbaseFixture(t, Config{})
	_, err := p.Refresh(context.Background(), linkvault.Credential{AccessToken: linkvault.NewSecret("x")})
	wantProviderError(t, err, linkvault.ProviderReauth, "no_refresh_token")
}

func TestCoinbaseRevoke(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	c := connect(t, p, "gina", "pw")
	if err := p.Revoke(ctx, c); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "revoked_token")
	_, err := p.Refresh(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "invalid_grant")
	if s := f.ex.Stats(); s.RevocationsReceived < 1 || s.GrantsRevoked != 1 {
		t.Fatalf("stats = %+v, want a revocation received and one grant revoked", s)
	}
	// Revoking a dead credential again is not an error.
	if err := p.Revoke(ctx, c); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
}

func TestCoinbaseUserGrantRevokedAtExchange(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	c := connect(t, p, "hank", "pw")
	if n, err := f.ex.RevokeUserGrants("hank"); err != nil || n != 1 {
		t.Fatalf("RevokeUserGrants = %d, %v", n, err)
	}
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "revoked_token")
	_, err := p.Refresh(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "invalid_grant")
}

func TestCoinbasePortfolio(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	if err := f.ex.CreateUser(exchangesim.User{Username: "ivy", Password: "pw", Balances: map[string]float64{"BTC": 2, "ETH": 0, "USD": 250.5}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "ivy", "pw")

	accts, err := p.Accounts(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 1 || accts[0].AccountID != c.Subject || !approx(accts[0].Fund, 120250.5) || !approx(accts[0].Cash, 250.5) {
		t.Fatalf("Accounts = %+v, want one account worth 120250.5 with 250.5 cash", accts)
	}
	h, err := p.Holdings(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.CryptocurrencyPositions) != 1 {
		t.Fatalf("positions = %+v, want only BTC (ETH is empty, USD is fiat)", h.CryptocurrencyPositions)
	}
	pos := h.CryptocurrencyPositions[0]
	if pos.Symbol != "BTC" || pos.Amount != 2 || pos.LastPrice != 60000 || pos.MarketValue != 120000 || pos.Name != "Bitcoin" {
		t.Errorf("BTC position = %+v", pos)
	}
	if h.InstitutionName != "Coinbase" || h.EquityPositions == nil {
		t.Errorf("holdings = %+v, want institution Coinbase and an empty (non-nil) equity list", h)
	}
	bals, err := p.Balances(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(bals) != 1 || bals[0].CurrencyCode != "USD" || bals[0].Cash != 250.5 {
		t.Fatalf("Balances = %+v", bals)
	}
}

func TestCoinbaseAccountsPagination(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	// 250 wallets take three pages of 100: every one must arrive, none twice.
	balances := map[string]float64{}
	for i := range 250 {
		balances[fmt.Sprintf("T%03d", i)] = float64(i + 1)
	}
	if err := f.ex.CreateUser(exchangesim.User{Username: "jay", Password: "pw", Balances: balances}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "jay", "pw")
	ws, err := p.wallets(ctx, c, "test")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w.Currency] || w.Amount != balances[w.Currency] {
			t.Fatalf("wallet %+v duplicated or with the wrong balance", w)
		}
		seen[w.Currency] = true
	}
	if len(seen) != len(balances) {
		t.Fatalf("got %d wallets, want %d", len(seen), len(balances))
	}
}

func TestCoinbaseTransfer(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	c := connect(t, p, "kim", "pw")
	const addr = "bc1qexampleaddress000000000000000000"
	req := linkvault.TransferRequest{ClientTransactionID: "tx-1", ToAddress: addr, Symbol: "BTC", Network: "bitcoin", Amount: 0.5}

	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil {
		t.Fatalf("PreviewTransfer: %v", err)
	}
	if prev.Fee != 0.0001 || prev.Total != 0.5001 || prev.InsufficientFund || prev.PreviewID == "" {
		t.Errorf("preview = %+v", prev)
	}
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil {
		t.Fatalf("ExecuteTransfer: %v", err)
	}
	if res.TransferID == "" || res.Status != "succeeded" || res.Amount != 0.5 || res.Fee != 0.0001 || res.Hash == "" || res.ToAddress != addr {
		t.Errorf("result = %+v", res)
	}
	again, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil {
		t.Fatalf("repeated ExecuteTransfer: %v", err)
	}
	if again.TransferID != res.TransferID {
		t.Errorf("repeat with the same ClientTransactionID made a new transfer: %s vs %s", again.TransferID, res.TransferID)
	}
	if b, _ := f.ex.Balances("kim"); b["BTC"] != 0.9999 {
		t.Errorf("BTC balance = %v, want 0.9999 (debited once)", b["BTC"])
	}
	if s := f.ex.Stats(); s.Transfers != 1 {
		t.Errorf("Transfers = %d, want 1", s.Transfers)
	}

	big := req
	big.Amount, big.ClientTransactionID = 50, "tx-2"
	prev, err = p.PreviewTransfer(ctx, c, big)
	if err != nil || !prev.InsufficientFund {
		t.Errorf("preview of too much = %+v, %v; want InsufficientFund", prev, err)
	}

	bad := []struct {
		name string
		mod  func(*linkvault.TransferRequest)
		code string
	}{
		{"insufficient funds", func(r *linkvault.TransferRequest) { r.Amount = 50 }, "insufficient_funds"},
		{"bad address", func(r *linkvault.TransferRequest) { r.ToAddress = "nope" }, "invalid_address"},
		{"bad network", func(r *linkvault.TransferRequest) { r.Network = "solana" }, "invalid_network"},
		{"no idempotency key", func(r *linkvault.TransferRequest) { r.ClientTransactionID = "" }, "missing_client_transaction_id"},
		{"zero amount", func(r *linkvault.TransferRequest) { r.Amount = 0 }, "invalid_amount"},
	}
	for i, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := req
			r.ClientTransactionID = "bad-" + string(rune('a'+i))
			tt.mod(&r)
			_, err := p.ExecuteTransfer(ctx, c, r)
			wantProviderError(t, err, linkvault.ProviderRejected, tt.code)
		})
	}
}
