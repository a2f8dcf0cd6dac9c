package provider

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

func newUpholdFixture(t *testing.T) (*simFixture, *Uphold) {
	t.Helper()
	f := newSimFixture(t, exchangesim.NewUphold, exchangesim.Config{})
	p, err := NewUphold(f.oauthConfig("/authorize/"+exchangesim.DemoClientID), f.deps)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestUpholdProductionAuthURL(t *testing.T) {
	p, err := NewUphold(Config{ClientID: "abc 123", ClientSecret: linkvault.NewSecret("s")}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	u := p.AuthCodeURL("st", "", "https://app.example/cb")
	if !strings.HasPrefix(u, "https://wallet.uphold.com/authorize/abc%20123?") {
		t.Fatalf("AuthCodeURL = %s", u)
	}
	q, _ := url.ParseQuery(u[strings.Index(u, "?")+1:])
	if q.Get("state") != "st" || q.Get("code_challenge") != "" {
		t.Fatalf("query = %v; want state and no PKCE without a verifier", q)
	}
}

func TestUpholdTokenDoesNotExpire(t *testing.T) {
	ctx := context.Background()
	f, p := newUpholdFixture(t)
	c := connect(t, p, "sam", "pw")
	if !c.Expiry.IsZero() || !c.RefreshToken.IsZero() {
		t.Fatalf("credential = expiry %v, refresh set %v; want no expiry and no refresh token", c.Expiry, !c.RefreshToken.IsZero())
	}
	if c.Subject == "" {
		t.Error("Subject not set from /v0/me")
	}
	f.clock.Advance(3 * 365 * 24 * time.Hour)
	if err := p.Validate(ctx, c); err != nil {
		t.Fatalf("Validate three years later: %v", err)
	}
	got, err := p.Refresh(ctx, c)
	if err != nil || !got.AccessToken.Equal(c.AccessToken) {
		t.Fatalf("Refresh = %v; want the same credential back", err)
	}
	// Expiring "all access tokens" does not touch tokens that never expire by time.
	f.ex.ExpireAccessTokens()
	if err := p.Validate(ctx, c); err != nil {
		t.Fatalf("Validate after ExpireAccessTokens: %v", err)
	}
}

func TestUpholdPasswordChangeKillsToken(t *testing.T) {
	ctx := context.Background()
	f, p := newUpholdFixture(t)
	c := connect(t, p, "tia", "pw")
	if err := f.ex.ChangePassword("tia", "pw2"); err != nil {
		t.Fatal(err)
	}
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "revoked_token")
	_, err := p.Refresh(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "revoked_token")
	// Reconnecting with the new password works.
	c2 := connect(t, p, "tia", "pw2")
	if err := p.Validate(ctx, c2); err != nil {
		t.Fatal(err)
	}
}

func TestUpholdPortfolioAndTransfer(t *testing.T) {
	ctx := context.Background()
	f, p := newUpholdFixture(t)
	if err := f.ex.CreateUser(exchangesim.User{Username: "uma", Password: "pw", Balances: map[string]float64{"BTC": 0.5, "SOL": 10, "USD": 42}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "uma", "pw")
	accts, err := p.Accounts(ctx, c)
	if err != nil || len(accts) != 1 || !approx(accts[0].Fund, 31542) || accts[0].Cash != 42 {
		t.Fatalf("Accounts = %+v, %v", accts, err)
	}
	h, err := p.Holdings(ctx, c)
	if err != nil || len(h.CryptocurrencyPositions) != 2 {
		t.Fatalf("Holdings = %+v, %v", h, err)
	}
	bals, err := p.Balances(ctx, c)
	if err != nil || len(bals) != 1 || bals[0].CurrencyCode != "USD" || bals[0].Cash != 42 {
		t.Fatalf("Balances = %+v, %v", bals, err)
	}

	const addr = "So1anaDestinationAddress11111111111111"
	req := linkvault.TransferRequest{ClientTransactionID: "u-1", ToAddress: addr, Symbol: "SOL", Network: "solana", Amount: 2}
	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil || prev.PreviewID == "" || prev.Fee != 0.000005 || prev.Total != 2.000005 || prev.ExpiresAt.IsZero() {
		t.Fatalf("preview = %+v, %v", prev, err)
	}
	if b, _ := f.ex.Balances("uma"); b["SOL"] != 10 {
		t.Fatalf("a quote must not debit: SOL = %v", b["SOL"])
	}
	withPreview := req
	withPreview.PreviewID = prev.PreviewID
	res, err := p.ExecuteTransfer(ctx, c, withPreview)
	if err != nil || res.TransferID != prev.PreviewID || res.Status != "succeeded" || res.Hash == "" {
		t.Fatalf("execute = %+v, %v", res, err)
	}
	if _, err := p.ExecuteTransfer(ctx, c, withPreview); err != nil {
		t.Fatalf("committing the same quote again: %v", err)
	}
	if b, _ := f.ex.Balances("uma"); b["SOL"] != 7.999995 {
		t.Fatalf("SOL = %v, want 7.999995 (debited once)", b["SOL"])
	}

	// Without a preview: create-and-commit, idempotent by ClientTransactionID.
	direct := req
	direct.ClientTransactionID = "u-2"
	r1, err := p.ExecuteTransfer(ctx, c, direct)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.ExecuteTransfer(ctx, c, direct)
	if err != nil || r2.TransferID != r1.TransferID {
		t.Fatalf("repeat = %+v, %v; want %s", r2, err, r1.TransferID)
	}
	if s := f.ex.Stats(); s.Transfers != 2 {
		t.Fatalf("Transfers = %d, want 2", s.Transfers)
	}

	tooMuch := req
	tooMuch.Amount, tooMuch.ClientTransactionID = 100, "u-3"
	_, err = p.PreviewTransfer(ctx, c, tooMuch)
	wantProviderError(t, err, linkvault.ProviderRejected, "insufficient_funds")
}
