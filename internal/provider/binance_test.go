package provider

import (
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

func binanceLogin(t *testing.T, p *Binance, username, password string) linkvault.Credential {
	t.Helper()
	ctx := context.Background()
	first, err := p.Login(ctx, linkvault.LoginRequest{Username: username, Password: linkvault.NewSecret(password)})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if !first.MFARequired || first.Challenge == "" {
		t.Fatalf("login step 1 = %+v, want an MFA challenge", first)
	}
	second, err := p.Login(ctx, linkvault.LoginRequest{Challenge: first.Challenge, MFACode: linkvault.NewSecret(exchangesim.DefaultMFACode)})
	if err != nil {
		t.Fatalf("login MFA step: %v", err)
	}
	if second.MFARequired || second.Credential.AccessToken.IsZero() {
		t.Fatalf("login step 2 = %+v, want a session", second)
	}
	return second.Credential
}

func newBinanceFixture(t *testing.T, simCfg exchangesim.Config) (*simFixture, *Binance) {
	t.Helper()
	f := newSimFixture(t, exchangesim.NewBinance, simCfg)
	p, err := NewBinance(Config{APIBaseURL: f.srv.URL}, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestBinanceLogin(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{AccessTTL: 2 * time.Hour})
	c := binanceLogin(t, p, "mo", "pw")
	if want := simEpoch.Add(2 * time.Hour); !c.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v", c.Expiry, want)
	}
	if !c.RefreshToken.IsZero() || c.CanRefresh() {
		t.Error("a Binance session must not be refreshable")
	}
	if c.Subject == "" {
		t.Error("Subject not set")
	}
	if err := p.Validate(ctx, c); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	steps := []struct {
		name string
		req  func(t *testing.T) linkvault.LoginRequest
		kind linkvault.ProviderErrorKind
		code string
	}{
		{"wrong password", func(*testing.T) linkvault.LoginRequest {
			return linkvault.LoginRequest{Username: "mo", Password: linkvault.NewSecret("nope")}
		}, linkvault.ProviderReauth, "invalid_credentials"},
		{"wrong MFA code", func(t *testing.T) linkvault.LoginRequest {
			r, err := p.Login(ctx, linkvault.LoginRequest{Username: "mo", Password: linkvault.NewSecret("pw")})
			if err != nil {
				t.Fatal(err)
			}
			return linkvault.LoginRequest{Challenge: r.Challenge, MFACode: linkvault.NewSecret("000000")}
		}, linkvault.ProviderRejected, "invalid_mfa_code"},
		{"unknown challenge", func(*testing.T) linkvault.LoginRequest {
			return linkvault.LoginRequest{Challenge: "made-up", MFACode: linkvault.NewSecret("123456")}
		}, linkvault.ProviderReauth, "challenge_expired"},
		{"missing password", func(*testing.T) linkvault.LoginRequest {
			return linkvault.LoginRequest{Username: "mo"}
		}, linkvault.ProviderRejected, "invalid_request"},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Login(ctx, tt.req(t))
			wantProviderError(t, err, tt.kind, tt.code)
		})
	}
	if s := f.ex.Stats(); s.MFAFailures != 1 || s.LoginFailures != 1 {
		t.Errorf("stats = %+v, want one MFA failure and one login failure", s)
	}
}

func TestBinanceMFARetryAfterWrongCode(t *testing.T) {
	ctx := context.Background()
	_, p := newBinanceFixture(t, exchangesim.Config{})
	r, err := p.Login(ctx, linkvault.LoginRequest{Username: "nia", Password: linkvault.NewSecret("pw")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Login(ctx, linkvault.LoginRequest{Challenge: r.Challenge, MFACode: linkvault.NewSecret("111111")})
	wantProviderError(t, err, linkvault.ProviderRejected, "invalid_mfa_code")
	// The same challenge accepts the right code afterwards.
	res, err := p.Login(ctx, linkvault.LoginRequest{Challenge: r.Challenge, MFACode: linkvault.NewSecret(exchangesim.DefaultMFACode)})
	if err != nil || res.Credential.AccessToken.IsZero() {
		t.Fatalf("retry with the right code = %+v, %v", res, err)
	}
}

func TestBinanceSessionExpiry(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	c := binanceLogin(t, p, "olga", "pw")
	if got, err := p.Refresh(ctx, c); err != nil || !got.AccessToken.Equal(c.AccessToken) {
		t.Fatalf("Refresh of a live session = %v; want it unchanged", err)
	}
	f.clock.Advance(24*time.Hour + time.Second)
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "session_expired")
	_, err := p.Refresh(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "session_expired")
	_, err = p.Holdings(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "session_expired")
}

func TestBinanceExpireAllSessions(t *testing.T) {
	f, p := newBinanceFixture(t, exchangesim.Config{})
	c := binanceLogin(t, p, "pia", "pw")
	f.ex.ExpireAccessTokens()
	wantProviderError(t, p.Validate(context.Background(), c), linkvault.ProviderReauth, "session_expired")
}

func TestBinancePortfolioAndTransfer(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	if err := f.ex.CreateUser(exchangesim.User{Username: "quinn", Password: "pw", Balances: map[string]float64{"ETH": 2, "USDC": 100, "USD": 10}}); err != nil {
		t.Fatal(err)
	}
	c := binanceLogin(t, p, "quinn", "pw")

	accts, err := p.Accounts(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != 1 || accts[0].AccountID != c.Subject || accts[0].Fund != 6110 || accts[0].Cash != 10 {
		t.Fatalf("Accounts = %+v, want 6110 total and 10 cash", accts)
	}
	h, err := p.Holdings(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]linkvault.Position{}
	for _, pos := range h.CryptocurrencyPositions {
		got[pos.Symbol] = pos
	}
	if len(got) != 2 || got["ETH"].MarketValue != dec("6000") || got["ETH"].LastPrice != dec("3000") || got["USDC"].Amount != dec("100") {
		t.Fatalf("positions = %+v", h.CryptocurrencyPositions)
	}
	bals, err := p.Balances(ctx, c)
	if err != nil || len(bals) != 1 || bals[0].Cash != dec("10") {
		t.Fatalf("Balances = %+v, %v", bals, err)
	}

	const addr = "0x00000000000000000000000000000000000000aa"
	req := linkvault.TransferRequest{ClientTransactionID: "w-1", ToAddress: addr, Symbol: "ETH", Network: "base", Amount: dec("1")}
	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil || prev.Fee != dec("0.00002") || prev.Total != dec("1.00002") || prev.InsufficientFund {
		t.Fatalf("preview = %+v, %v", prev, err)
	}
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.TransferID == "" || res.Status != linkvault.TransferSucceeded || res.Fee != dec("0.00002") || res.Network != "base" || res.Hash == "" {
		t.Fatalf("result = %+v", res)
	}
	again, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil || again.TransferID != res.TransferID {
		t.Fatalf("repeat = %+v, %v; want the same withdrawal", again, err)
	}
	if b, _ := f.ex.Balances("quinn"); b["ETH"] != 0.99998 {
		t.Fatalf("ETH balance = %v, want 0.99998 (debited once)", b["ETH"])
	}
	for _, tt := range []struct {
		name string
		mod  func(*linkvault.TransferRequest)
		code string
	}{
		{"too much", func(r *linkvault.TransferRequest) { r.Amount = dec("5") }, "insufficient_funds"},
		{"unknown network", func(r *linkvault.TransferRequest) { r.Network = "dogechain" }, "invalid_network"},
		{"network of another coin", func(r *linkvault.TransferRequest) { r.Network = "bitcoin" }, "invalid_network"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := req
			r.ClientTransactionID = "w-" + tt.name
			tt.mod(&r)
			_, err := p.ExecuteTransfer(ctx, c, r)
			wantProviderError(t, err, linkvault.ProviderRejected, tt.code)
		})
	}
}

func TestBinanceRevokeLogsOut(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	c := binanceLogin(t, p, "rex", "pw")
	if err := p.Revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "invalid_session")
	if err := p.Revoke(ctx, c); err != nil {
		t.Fatalf("revoking a dead session: %v", err)
	}
	if s := f.ex.Stats(); s.GrantsRevoked != 1 {
		t.Fatalf("GrantsRevoked = %d, want 1", s.GrantsRevoked)
	}
}
