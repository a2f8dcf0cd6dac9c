package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

func newCoinbaseFixture(t *testing.T, cfg Config) (*simFixture, *Coinbase) {
	t.Helper()
	return newCoinbaseFixtureSim(t, cfg, exchangesim.Config{})
}

func newCoinbaseFixtureSim(t *testing.T, cfg Config, sim exchangesim.Config) (*simFixture, *Coinbase) {
	t.Helper()
	f := newSimFixture(t, exchangesim.NewCoinbase, sim)
	base := f.oauthConfig("/oauth2/auth")
	base.Timeout, base.MaxInFlight = cfg.Timeout, cfg.MaxInFlight
	p, err := NewCoinbase(base, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

// connectScoped runs the consent for a connection of permission perm.
func connectScoped(t *testing.T, p linkvault.OAuthProvider, user string, perm linkvault.Permission) linkvault.Credential {
	t.Helper()
	ctx := context.Background()
	verifier := linkvault.NewRandomID(32)
	loc, err := exchangesim.Consent(ctx, nil, p.AuthCodeURL(linkvault.AuthCodeRequest{State: "s", CodeVerifier: verifier,
		RedirectURL: testRedirect, Scope: perm}), user, "pw", false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Exchange(ctx, loc.Query().Get("code"), verifier, testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	return c
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

// TestCoinbaseAuthCodeURL: the authorization request of cbDocsOAuth, with PKCE, and
// scopes that follow the connection's permission (a read connection cannot send).
func TestCoinbaseAuthCodeURL(t *testing.T) {
	_, p := newCoinbaseFixture(t, Config{})
	for _, tt := range []struct {
		perm      linkvault.Permission
		hasSend   bool
		hasCreate bool
	}{{linkvault.PermissionRead, false, false}, {linkvault.PermissionWrite, true, true}} {
		q := authQuery(t, p.AuthCodeURL(linkvault.AuthCodeRequest{State: "st4te", CodeVerifier: "verifier-verifier-verifier-verifier-1234",
			RedirectURL: testRedirect, Scope: tt.perm}))
		for k, want := range map[string]string{
			"client_id": exchangesim.DemoClientID, "response_type": "code", "state": "st4te",
			"redirect_uri": testRedirect, "code_challenge_method": "S256",
		} {
			if got := q.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", tt.perm, k, got, want)
			}
		}
		if q.Get("code_challenge") == "" || q.Get("code_challenge") == "verifier-verifier-verifier-verifier-1234" {
			t.Errorf("code_challenge = %q, want the S256 digest of the verifier", q.Get("code_challenge"))
		}
		scopes := strings.Fields(q.Get("scope"))
		for _, s := range []string{"wallet:user:read", "wallet:accounts:read", "wallet:transactions:read", "offline_access"} {
			if !slices.Contains(scopes, s) {
				t.Errorf("%s: scope %v lacks %s", tt.perm, scopes, s)
			}
		}
		if slices.Contains(scopes, "wallet:transactions:send") != tt.hasSend || slices.Contains(scopes, "wallet:addresses:create") != tt.hasCreate {
			t.Errorf("%s: scope %v", tt.perm, scopes)
		}
	}
}

func TestCoinbaseExchangeFailures(t *testing.T) {
	ctx := context.Background()
	_, p := newCoinbaseFixture(t, Config{})
	consent := func(t *testing.T) (code, verifier string) {
		verifier = linkvault.NewRandomID(32)
		loc, err := exchangesim.Consent(ctx, nil, p.AuthCodeURL(linkvault.AuthCodeRequest{State: "s", CodeVerifier: verifier, RedirectURL: testRedirect}), "bob", "pw", false)
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
	loc, err := exchangesim.Consent(context.Background(), nil, p.AuthCodeURL(linkvault.AuthCodeRequest{State: "s1",
		CodeVerifier: linkvault.NewRandomID(32), RedirectURL: testRedirect}), "dan", "pw", true)
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
	if len(accts) != 1 || accts[0].AccountID != c.Subject || accts[0].Fund != 120250.5 || accts[0].Cash != 250.5 {
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
	// Valued at the exchange's own rates (1 USD = 0.0000166666… BTC).
	if pos.Symbol != "BTC" || pos.Amount != dec("2") || pos.LastPrice != dec("60000") || pos.MarketValue != dec("120000") || pos.Name != "Bitcoin" {
		t.Errorf("BTC position = %+v", pos)
	}
	if h.InstitutionName != "Coinbase" || h.EquityPositions == nil {
		t.Errorf("holdings = %+v, want institution Coinbase and an empty (non-nil) equity list", h)
	}
	bals, err := p.Balances(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(bals) != 1 || bals[0].CurrencyCode != "USD" || bals[0].Cash != dec("250.5") {
		t.Fatalf("Balances = %+v", bals)
	}
	// Rates are cached: a second holdings read does not fetch them again.
	f.rec.take()
	if _, err := p.Holdings(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, "cached holdings", f.rec.take(), nil, "GET /v2/accounts?limit=100")
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
	f.rec.take()
	ws, err := p.wallets(ctx, c, "test")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w.Currency] || w.Balance.Float64() != balances[w.Currency] {
			t.Fatalf("wallet %+v duplicated or with the wrong balance", w)
		}
		seen[w.Currency] = true
	}
	if len(seen) != len(balances) {
		t.Fatalf("got %d wallets, want %d", len(seen), len(balances))
	}
	reqs := f.rec.take()
	if len(reqs) != 3 || reqs[1].Query.Get("starting_after") == "" || reqs[2].Query.Get("starting_after") == "" {
		t.Fatalf("pages requested: %v", reqs)
	}
}

func TestCoinbaseTransfer(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	c := connect(t, p, "kim", "pw")
	const addr = "bc1qexampleaddress000000000000000000"
	req := linkvault.TransferRequest{ClientTransactionID: "tx-1", ToAddress: addr, Symbol: "BTC", Network: "bitcoin", Amount: dec("0.5")}

	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil {
		t.Fatalf("PreviewTransfer: %v", err)
	}
	// Coinbase sets the fee when the send happens: the preview says so rather than guess.
	if prev.FeeKnown || !prev.Fee.IsZero() || prev.Total != dec("0.5") || prev.InsufficientFund || prev.AccountID == "" {
		t.Errorf("preview = %+v", prev)
	}
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil {
		t.Fatalf("ExecuteTransfer: %v", err)
	}
	if res.TransferID == "" || res.Status != linkvault.TransferSucceeded || res.Amount != dec("0.5") || res.Fee != dec("0.0001") ||
		res.Hash == "" || res.ToAddress != addr || res.Network != "bitcoin" || res.AccountID != prev.AccountID {
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
	got, err := p.GetTransfer(ctx, c, linkvault.TransferRef{TransferID: res.TransferID, AccountID: res.AccountID})
	if err != nil || got.TransferID != res.TransferID || got.Status != linkvault.TransferSucceeded || got.Direction != linkvault.TransferWithdrawal {
		t.Fatalf("GetTransfer = %+v, %v", got, err)
	}

	big := req
	big.Amount, big.ClientTransactionID = dec("50"), "tx-2"
	prev, err = p.PreviewTransfer(ctx, c, big)
	if err != nil || !prev.InsufficientFund {
		t.Errorf("preview of too much = %+v, %v; want InsufficientFund", prev, err)
	}

	bad := []struct {
		name string
		mod  func(*linkvault.TransferRequest)
		code string
	}{
		{"insufficient funds", func(r *linkvault.TransferRequest) { r.Amount = dec("50") }, "insufficient_funds"},
		{"address not matching the currency's address_regex", func(r *linkvault.TransferRequest) { r.ToAddress = "nope" }, "invalid_address"},
		{"network the asset does not use", func(r *linkvault.TransferRequest) { r.Network = "solana" }, "invalid_network"},
		{"unknown network", func(r *linkvault.TransferRequest) { r.Network = "mars" }, "invalid_network"},
		{"no idempotency key", func(r *linkvault.TransferRequest) { r.ClientTransactionID = "" }, "missing_client_transaction_id"},
		{"zero amount", func(r *linkvault.TransferRequest) { r.Amount = linkvault.Decimal{} }, "invalid_amount"},
		{"negative amount", func(r *linkvault.TransferRequest) { r.Amount = dec("-1") }, "invalid_amount"},
	}
	for i, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := req
			r.ClientTransactionID = "bad-" + string(rune('a'+i))
			tt.mod(&r)
			f.rec.take()
			_, err := p.ExecuteTransfer(ctx, c, r)
			wantProviderError(t, err, linkvault.ProviderRejected, tt.code)
			for _, sent := range f.rec.take() {
				if sent.Method != "GET" {
					t.Fatalf("a refused transfer reached the exchange: %s", sent)
				}
			}
		})
	}
}

// TestCoinbaseReadScopeCannotSend: a read connection's token lacks
// wallet:transactions:send, and the exchange's invalid_scope is a refusal, not re-auth.
func TestCoinbaseReadScopeCannotSend(t *testing.T) {
	ctx := context.Background()
	_, p := newCoinbaseFixture(t, Config{})
	c := connectScoped(t, p, "reader", linkvault.PermissionRead)
	_, err := p.ExecuteTransfer(ctx, c, linkvault.TransferRequest{ClientTransactionID: "k", ToAddress: "0x1111111111111111111111111111111111111111",
		Symbol: "ETH", Network: "ethereum", Amount: dec("0.1")})
	wantProviderError(t, err, linkvault.ProviderRejected, "invalid_scope")
}

// TestCoinbaseTwoFactor follows cbDocs2FA: the send answers two_factor_required, the
// same request is repeated with CB-2FA-TOKEN; a wrong code is told apart.
func TestCoinbaseTwoFactor(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	if err := f.ex.CreateUser(exchangesim.User{Username: "tf", Password: "pw", MFACode: "246810", TwoFactor: true}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "tf", "pw")
	req := linkvault.TransferRequest{ClientTransactionID: "tf-1", ToAddress: "0x1111111111111111111111111111111111111111",
		Symbol: "ETH", Network: "base", Amount: dec("1.25")}
	_, err := p.ExecuteTransfer(ctx, c, req)
	pe := providerError(t, err, linkvault.ProviderMFARequired, "mfa_required")
	if pe.StatusCode != 402 {
		t.Errorf("status = %d, want 402", pe.StatusCode)
	}
	req.MFACode = linkvault.NewSecret("000000")
	_, err = p.ExecuteTransfer(ctx, c, req)
	wantProviderError(t, err, linkvault.ProviderMFARequired, "mfa_invalid")
	if s := f.ex.Stats(); s.Transfers != 0 || s.MFAFailures != 1 {
		t.Fatalf("stats = %+v, want nothing sent and one refused code", s)
	}
	req.MFACode = linkvault.NewSecret("246810")
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil || res.Network != "base" || res.Fee != dec("0.00002") {
		t.Fatalf("ExecuteTransfer with the code = %+v, %v", res, err)
	}
	// The idem replay needs no second code.
	req.MFACode = linkvault.Secret{}
	again, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil || again.TransferID != res.TransferID {
		t.Fatalf("replay = %+v, %v", again, err)
	}
}

func TestCoinbaseTransferOptionsHistoryAddressesHolderRates(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixtureSim(t, Config{}, exchangesim.Config{SettleAfter: time.Minute})
	if err := f.ex.CreateUser(exchangesim.User{Username: "lee@example.com", Password: "pw",
		Balances: map[string]float64{"BTC": 1, "USDC": 100, "USD": 5}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "lee@example.com", "pw")

	opts, err := p.TransferOptions(ctx, c)
	if err != nil || len(opts) != 2 {
		t.Fatalf("TransferOptions = %+v, %v", opts, err)
	}
	btc := opts[0]
	if btc.Symbol != "BTC" || btc.Available != dec("1") || len(btc.Networks) != 1 || btc.Networks[0].Network != "bitcoin" ||
		!btc.Networks[0].Default || btc.Networks[0].FeeKnown || btc.Networks[0].AddressPattern == "" {
		t.Fatalf("BTC option = %+v", btc)
	}
	if usdc := opts[1]; usdc.Symbol != "USDC" || len(usdc.Networks) != 4 || usdc.Networks[0].Network != "ethereum" || usdc.Networks[2].Network != "solana" {
		t.Fatalf("USDC option = %+v", usdc)
	}

	// History: two sends, one deposit; pending until the exchange settles them.
	for i, amt := range []string{"10", "20"} {
		if _, err := p.ExecuteTransfer(ctx, c, linkvault.TransferRequest{ClientTransactionID: fmt.Sprint("h", i),
			ToAddress: "0x2222222222222222222222222222222222222222", Symbol: "USDC", Network: "ethereum", Amount: dec(amt)}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
	}
	if err := f.ex.Deposit("lee@example.com", "BTC", "bitcoin", 0.25); err != nil {
		t.Fatal(err)
	}
	page, err := p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 2})
	if err != nil || len(page.Transfers) != 2 || page.Cursor == "" {
		t.Fatalf("first page = %+v, %v; want the BTC deposit, the newest USDC send and a cursor", page, err)
	}
	dep, newest := page.Transfers[0], page.Transfers[1]
	if dep.Direction != linkvault.TransferDeposit || dep.Symbol != "BTC" || dep.Amount != dec("0.25") || dep.Status != linkvault.TransferSucceeded {
		t.Fatalf("deposit = %+v", dep)
	}
	if newest.Amount != dec("20") || newest.Direction != linkvault.TransferWithdrawal || newest.Status != linkvault.TransferPending ||
		newest.StatusDetail != "pending" || newest.ToAddress != "0x2222222222222222222222222222222222222222" {
		t.Fatalf("unsettled send = %+v", newest)
	}
	page, err = p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 2, Cursor: page.Cursor})
	if err != nil || len(page.Transfers) != 1 || page.Transfers[0].Amount != dec("10") || page.Cursor != "" {
		t.Fatalf("second page = %+v, %v; want the older USDC send and no cursor", page, err)
	}
	f.clock.Advance(time.Minute)
	settled, err := p.GetTransfer(ctx, c, linkvault.TransferRef{TransferID: newest.TransferID, Symbol: "USDC"})
	if err != nil || settled.Status != linkvault.TransferSucceeded {
		t.Fatalf("settled = %+v, %v", settled, err)
	}
	if page, _ := p.Transfers(ctx, c, linkvault.TransferQuery{Symbol: "BTC"}); len(page.Transfers) != 1 || page.Cursor != "" {
		t.Fatalf("BTC only = %+v", page)
	}

	// Deposit address: none yet, so one is created on the default network, then listed.
	a, err := p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: "USDC"})
	if err != nil || a.Network != "ethereum" || !strings.HasPrefix(a.Address, "0x") {
		t.Fatalf("DepositAddress = %+v, %v", a, err)
	}
	f.rec.take()
	again, err := p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: "USDC", Network: "ethereum"})
	if err != nil || again.Address != a.Address {
		t.Fatalf("second DepositAddress = %+v, %v", again, err)
	}
	for _, r := range f.rec.take() {
		if r.Method == "POST" {
			t.Fatal("an existing address was created again")
		}
	}
	if _, err := p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: "USDC", Network: "solana"}); err == nil {
		t.Fatal("an address on a non-default network was invented")
	}

	holder, err := p.AccountHolder(ctx, c)
	if err != nil || holder.AccountNumber != c.Subject || holder.Email != "lee@example.com@example.invalid" || holder.CountryCode != "US" || holder.FullName == "" {
		t.Fatalf("AccountHolder = %+v, %v", holder, err)
	}

	rates, err := p.Rates(ctx, "eur")
	if err != nil || rates.Base != "EUR" || rates.Source != linkvault.BrokerCoinbase || rates.AsOf.IsZero() {
		t.Fatalf("Rates = %+v, %v", rates, err)
	}
	if v, ok := rates.Convert(dec("108"), "EUR", "USD", 2); !ok || v != dec("116.64") {
		t.Fatalf("108 EUR in USD = %s, %v", v, ok)
	}
}

// TestCoinbaseRequestsAgainstSimulator: the exact requests the adapter sends for each
// operation, with the headers cbDocsVersion, cbDocs2FA and RFC 6750 ask for, and the
// send body of cbDocsSend (amounts as decimal strings).
func TestCoinbaseRequestsAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	f, p := newCoinbaseFixture(t, Config{})
	if err := f.ex.CreateUser(exchangesim.User{Username: "req", Password: "pw", MFACode: "135790", TwoFactor: true,
		Balances: map[string]float64{"ETH": 2, "USD": 10}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "req", "pw")
	rec := f.rec.take()
	wantRequests(t, "connect", rec, nil, "POST /oauth2/token", "GET /v2/user")
	if tok := rec[0]; tok.Header.Get("Authorization") == "" || !strings.Contains(tok.Body, "grant_type=authorization_code") ||
		!strings.Contains(tok.Body, "code_verifier=") {
		t.Fatalf("token request = %+v", tok)
	}

	ws, _ := p.wallets(ctx, c, "t")
	var eth string
	for _, w := range ws {
		if w.Currency == "ETH" {
			eth = w.ID
		}
	}
	f.rec.take()
	steps := []struct {
		name string
		run  func() error
		want []string
	}{
		{"holdings", func() error { _, err := p.Holdings(ctx, c); return err },
			[]string{"GET /v2/accounts?limit=100", "GET /v2/exchange-rates?currency=USD"}},
		{"preview", func() error {
			_, err := p.PreviewTransfer(ctx, c, linkvault.TransferRequest{ToAddress: "0x3333333333333333333333333333333333333333",
				Symbol: "ETH", Network: "ethereum", Amount: dec("0.10")})
			return err
		}, []string{"GET /v2/accounts?limit=100"}},
		{"send asks for 2FA", func() error {
			_, err := p.ExecuteTransfer(ctx, c, linkvault.TransferRequest{ClientTransactionID: "order-7",
				ToAddress: "0x3333333333333333333333333333333333333333", Symbol: "ETH", Network: "ethereum", Amount: dec("0.10")})
			if linkvault.IsMFARequired(err) {
				return nil
			}
			return fmt.Errorf("want MFA required, got %v", err)
		}, []string{"GET /v2/accounts?limit=100", "POST /v2/accounts/" + eth + "/transactions"}},
		{"send with code", func() error {
			_, err := p.ExecuteTransfer(ctx, c, linkvault.TransferRequest{ClientTransactionID: "order-7",
				ToAddress: "0x3333333333333333333333333333333333333333", Symbol: "ETH", Network: "ethereum", Amount: dec("0.10"),
				MFACode: linkvault.NewSecret("135790")})
			return err
		}, []string{"GET /v2/accounts?limit=100", "POST /v2/accounts/" + eth + "/transactions"}},
		{"history", func() error {
			_, err := p.Transfers(ctx, c, linkvault.TransferQuery{Symbol: "ETH", Limit: 5})
			return err
		},
			[]string{"GET /v2/accounts?limit=100", "GET /v2/accounts/" + eth + "/transactions?limit=5"}},
		{"deposit address", func() error {
			_, err := p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: "ETH"})
			return err
		}, []string{"GET /v2/accounts?limit=100", "GET /v2/accounts/" + eth + "/addresses", "POST /v2/accounts/" + eth + "/addresses"}},
		{"holder", func() error { _, err := p.AccountHolder(ctx, c); return err }, []string{"GET /v2/user"}},
		{"rates", func() error { _, err := p.Rates(ctx, "GBP"); return err }, []string{"GET /v2/exchange-rates?currency=GBP"}},
		{"revoke", func() error { return p.Revoke(ctx, c) }, []string{"POST /oauth2/revoke", "POST /oauth2/revoke"}},
	}
	var sends []recorded
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := f.rec.take()
		wantRequests(t, s.name, got, nil, s.want...)
		for _, r := range got {
			if strings.HasPrefix(r.Path, "/v2/") {
				if r.Header.Get("CB-VERSION") != coinbaseAPIVersion {
					t.Errorf("%s: %s without CB-VERSION", s.name, r)
				}
				wantAuth := r.Path != "/v2/exchange-rates"
				if (r.Header.Get("Authorization") == "Bearer "+c.AccessToken.Reveal()) != wantAuth {
					t.Errorf("%s: %s Authorization = %q", s.name, r, r.Header.Get("Authorization"))
				}
			}
			if r.Method == "POST" && strings.HasSuffix(r.Path, "/transactions") {
				sends = append(sends, r)
			}
		}
	}
	if len(sends) != 2 || sends[0].Header.Get("CB-2FA-TOKEN") != "" || sends[1].Header.Get("CB-2FA-TOKEN") != "135790" {
		t.Fatalf("2FA headers on the two sends: %q, %q", sends[0].Header.Get("CB-2FA-TOKEN"), sends[1].Header.Get("CB-2FA-TOKEN"))
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(sends[1].Body), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"type": "send", "to": "0x3333333333333333333333333333333333333333", "amount": "0.1",
		"currency": "ETH", "network": "ethereum", "idem": uuidFromKey("order-7")}
	if fmt.Sprint(body) != fmt.Sprint(want) || sends[0].Body != sends[1].Body {
		t.Fatalf("send body = %s, want %v (and the 2FA retry identical)", sends[1].Body, want)
	}
	if sends[1].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("send content type %q", sends[1].Header.Get("Content-Type"))
	}
}
