package provider

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

func newUpholdFixture(t *testing.T) (*simFixture, *Uphold) {
	t.Helper()
	return newUpholdFixtureSim(t, exchangesim.Config{})
}

func newUpholdFixtureSim(t *testing.T, sim exchangesim.Config) (*simFixture, *Uphold) {
	t.Helper()
	f := newSimFixture(t, exchangesim.NewUphold, sim)
	p, err := NewUphold(f.oauthConfig("/authorize/"+exchangesim.DemoClientID), f.deps)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

// TestUpholdProductionAuthURL: https://wallet.uphold.com/authorize/<client_id> with state
// and space-separated scopes (upDocsAuth); no PKCE, which Uphold does not document.
func TestUpholdProductionAuthURL(t *testing.T) {
	p, err := NewUphold(Config{ClientID: "abc 123", ClientSecret: linkvault.NewSecret("s")}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	u := p.AuthCodeURL(linkvault.AuthCodeRequest{State: "st", CodeVerifier: linkvault.NewRandomID(32), RedirectURL: "https://app.example/cb",
		Scope: linkvault.PermissionRead})
	if !strings.HasPrefix(u, "https://wallet.uphold.com/authorize/abc%20123?") {
		t.Fatalf("AuthCodeURL = %s", u)
	}
	q := authQuery(t, u)
	if q.Get("state") != "st" || q.Get("code_challenge") != "" || q.Get("scope") != "user:read cards:read transactions:read" {
		t.Fatalf("query = %v; want state, read scopes, no PKCE", q)
	}
	w := p.AuthCodeURL(linkvault.AuthCodeRequest{State: "st", Scope: linkvault.PermissionWrite})
	q = authQuery(t, w)
	if scopes := strings.Fields(q.Get("scope")); !slices.Contains(scopes, "transactions:withdraw") || !slices.Contains(scopes, "cards:write") {
		t.Fatalf("write scopes = %v", scopes)
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
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "invalid_token")
	_, err := p.Refresh(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "invalid_token")
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
	if err != nil || len(accts) != 1 || accts[0].Fund != 31542 || accts[0].Cash != 42 {
		t.Fatalf("Accounts = %+v, %v", accts, err)
	}
	h, err := p.Holdings(ctx, c)
	if err != nil || len(h.CryptocurrencyPositions) != 2 {
		t.Fatalf("Holdings = %+v, %v", h, err)
	}
	for _, pos := range h.CryptocurrencyPositions {
		if pos.Symbol == "SOL" && (pos.LastPrice != dec("150") || pos.MarketValue != dec("1500")) {
			t.Fatalf("SOL position = %+v", pos)
		}
	}
	bals, err := p.Balances(ctx, c)
	if err != nil || len(bals) != 1 || bals[0].CurrencyCode != "USD" || bals[0].Cash != dec("42") {
		t.Fatalf("Balances = %+v, %v", bals, err)
	}

	const addr = "So1anaDestinationAddress11111111111111"
	req := linkvault.TransferRequest{ClientTransactionID: "u-1", ToAddress: addr, Symbol: "SOL", Network: "solana", Amount: dec("2")}
	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil || prev.PreviewID == "" || !prev.FeeKnown || prev.Fee != dec("0.000005") || prev.Total != dec("2.000005") || prev.ExpiresAt.IsZero() {
		t.Fatalf("preview = %+v, %v", prev, err)
	}
	if b, _ := f.ex.Balances("uma"); b["SOL"] != 10 {
		t.Fatalf("a quote must not debit: SOL = %v", b["SOL"])
	}
	withPreview := req
	withPreview.PreviewID = prev.PreviewID
	res, err := p.ExecuteTransfer(ctx, c, withPreview)
	if err != nil || res.TransferID != prev.PreviewID || res.Status != linkvault.TransferSucceeded || res.StatusDetail != "completed" {
		t.Fatalf("execute = %+v, %v", res, err)
	}
	if again, err := p.ExecuteTransfer(ctx, c, withPreview); err != nil || again.TransferID != res.TransferID {
		t.Fatalf("executing the same quote again = %+v, %v", again, err)
	}
	if b, _ := f.ex.Balances("uma"); b["SOL"] != 7.999995 {
		t.Fatalf("SOL = %v, want 7.999995 (debited once)", b["SOL"])
	}

	// Without a preview: quote with the key as reference, then commit; a repeat finds
	// the committed transaction by its reference.
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
	tooMuch.Amount, tooMuch.ClientTransactionID = dec("100"), "u-3"
	_, err = p.PreviewTransfer(ctx, c, tooMuch)
	wantProviderError(t, err, linkvault.ProviderRejected, "insufficient_funds")
	small := req
	small.Amount, small.ClientTransactionID = dec("0.001"), "u-4"
	_, err = p.PreviewTransfer(ctx, c, small)
	wantProviderError(t, err, linkvault.ProviderRejected, "below_minimum")
	wrongNet := req
	wrongNet.Network = "ethereum"
	_, err = p.PreviewTransfer(ctx, c, wrongNet)
	wantProviderError(t, err, linkvault.ProviderRejected, "invalid_network")
}

// TestUpholdExpiredQuoteIsQuotedAgain: Uphold quotes live for params.ttl; an execute
// after it lapsed gets a fresh quote committed, once.
func TestUpholdExpiredQuoteIsQuotedAgain(t *testing.T) {
	ctx := context.Background()
	f, p := newUpholdFixtureSim(t, exchangesim.Config{QuoteTTL: 18 * time.Second})
	c := connect(t, p, "vic", "pw")
	req := linkvault.TransferRequest{ClientTransactionID: "v-1", ToAddress: "0x4444444444444444444444444444444444444444",
		Symbol: "ETH", Network: "ethereum", Amount: dec("1")}
	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil || !prev.ExpiresAt.Equal(simEpoch.Add(18*time.Second)) {
		t.Fatalf("preview = %+v, %v", prev, err)
	}
	f.clock.Advance(time.Minute)
	req.PreviewID = prev.PreviewID
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil || res.TransferID == prev.PreviewID {
		t.Fatalf("execute after expiry = %+v, %v; want a new transaction", res, err)
	}
	if s := f.ex.Stats(); s.Transfers != 1 {
		t.Fatalf("Transfers = %d", s.Transfers)
	}
}

// TestUpholdOTP: with OTP on, the commit answers 401 with "OTP-Token: Required", which
// is an MFA request and not a dead token; the code goes in the OTP-Token header.
func TestUpholdOTP(t *testing.T) {
	ctx := context.Background()
	f, p := newUpholdFixture(t)
	if err := f.ex.CreateUser(exchangesim.User{Username: "otp", Password: "pw", MFACode: "112233", TwoFactor: true}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "otp", "pw")
	req := linkvault.TransferRequest{ClientTransactionID: "o-1", ToAddress: "bc1qexampleaddress000000000000000000", Symbol: "BTC",
		Network: "bitcoin", Amount: dec("0.01")}
	_, err := p.ExecuteTransfer(ctx, c, req)
	pe := providerError(t, err, linkvault.ProviderMFARequired, "mfa_required")
	if pe.StatusCode != 401 {
		t.Fatalf("status %d", pe.StatusCode)
	}
	if err := p.Validate(ctx, c); err != nil {
		t.Fatalf("the token must survive an OTP request: %v", err)
	}
	req.MFACode = linkvault.NewSecret("999999")
	_, err = p.ExecuteTransfer(ctx, c, req)
	wantProviderError(t, err, linkvault.ProviderMFARequired, "mfa_invalid")
	req.MFACode = linkvault.NewSecret("112233")
	f.rec.take()
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	// The pending quote made by the first attempt is found by reference and committed:
	// no third quote.
	wantRequests(t, "execute with OTP", f.rec.take(), nil, "GET /v0/me/cards",
		"GET /v0/me/cards/"+res.AccountID+"/transactions", "POST /v0/me/cards/"+res.AccountID+"/transactions/"+res.TransferID+"/commit")
	if s := f.ex.Stats(); s.Transfers != 1 || s.MFAFailures != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestUpholdHistoryAddressesHolderRates(t *testing.T) {
	ctx := context.Background()
	f, p := newUpholdFixture(t)
	if err := f.ex.CreateUser(exchangesim.User{Username: "wes.smith", Password: "pw", Balances: map[string]float64{"ETH": 3, "USD": 1}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "wes.smith", "pw")
	opts, err := p.TransferOptions(ctx, c)
	if err != nil || len(opts) != 1 || opts[0].Symbol != "ETH" || len(opts[0].Networks) != 1 || opts[0].Networks[0].Network != "ethereum" {
		t.Fatalf("TransferOptions = %+v, %v", opts, err)
	}
	for i := range 3 {
		if _, err := p.ExecuteTransfer(ctx, c, linkvault.TransferRequest{ClientTransactionID: "w" + string(rune('0'+i)),
			ToAddress: "0x5555555555555555555555555555555555555555", Symbol: "ETH", Network: "ethereum", Amount: dec("0.1")}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
	}
	page, err := p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 2})
	if err != nil || len(page.Transfers) != 2 || page.Cursor != "2" || page.Transfers[0].Direction != linkvault.TransferWithdrawal {
		t.Fatalf("page 1 = %+v, %v", page, err)
	}
	page2, err := p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 2, Cursor: page.Cursor})
	if err != nil || len(page2.Transfers) != 1 || page2.Cursor != "" {
		t.Fatalf("page 2 = %+v, %v", page2, err)
	}
	// The ETH card came with an ethereum address; base needs creating (cards:write).
	wantWithdrawalAndAddresses(t, p, c, linkvault.TransferRef{TransferID: page2.Transfers[0].TransferID, Symbol: "ETH"},
		linkvault.TransferRef{TransferID: "no-such-id", Symbol: "ETH"}, linkvault.DepositAddressRequest{Symbol: "ETH", Network: "base"})

	holder, err := p.AccountHolder(ctx, c)
	if err != nil || holder.FirstName != "Wes" || holder.LastName != "smith" || holder.CountryCode != "US" ||
		holder.DateOfBirth != "1990-01-31" || holder.Email == "" || holder.AccountNumber != c.Subject || holder.Address == "" {
		t.Fatalf("AccountHolder = %+v, %v", holder, err)
	}

	rates, err := p.Rates(ctx, "USD")
	if err != nil || rates.Base != "USD" || rates.AsOf.IsZero() {
		t.Fatalf("Rates = %+v, %v", rates, err)
	}
	if v, ok := rates.Convert(dec("3000"), "USD", "ETH", 8); !ok || v != dec("1") {
		t.Fatalf("3000 USD in ETH = %s", v)
	}
}

// TestUpholdRequestsAgainstSimulator: the exact requests of each operation, with the
// Range header of upDocsPagination, the create-transaction body of upDocsCreateTx and
// the revocation of upSDKRevoke.
func TestUpholdRequestsAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	f, p := newUpholdFixture(t)
	if err := f.ex.CreateUser(exchangesim.User{Username: "rq", Password: "pw", Balances: map[string]float64{"BTC": 1}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, p, "rq", "pw")
	wantRequests(t, "connect", f.rec.take(), nil, "POST /oauth2/token", "GET /v0/me")
	cards, _ := p.cards(ctx, c, "t")
	card := cards[0].ID
	f.rec.take()

	if _, err := p.Holdings(ctx, c); err != nil {
		t.Fatal(err)
	}
	got := f.rec.take()
	wantRequests(t, "holdings", got, nil, "GET /v0/me/cards")
	if got[0].Header.Get("Range") != "items=0-49" || got[0].Header.Get("Authorization") != "Bearer "+c.AccessToken.Reveal() {
		t.Fatalf("cards request headers %v", got[0].Header)
	}

	req := linkvault.TransferRequest{ClientTransactionID: "rq-1", ToAddress: "bc1qexampleaddress000000000000000000", Symbol: "BTC",
		Network: "bitcoin", Amount: dec("0.25000")}
	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	got = f.rec.take()
	wantRequests(t, "preview", got, nil, "GET /v0/me/cards", "POST /v0/me/cards/"+card+"/transactions")
	var body map[string]any
	_ = json.Unmarshal([]byte(got[1].Body), &body)
	if den, _ := body["denomination"].(map[string]any); den["amount"] != "0.25" || den["currency"] != "BTC" ||
		body["destination"] != req.ToAddress || body["reference"] != uuidFromKey("rq-1") || len(body) != 3 {
		t.Fatalf("quote body = %s", got[1].Body)
	}
	req.PreviewID = prev.PreviewID
	if _, err := p.ExecuteTransfer(ctx, c, req); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, "execute", f.rec.take(), nil, "GET /v0/me/cards", "GET /v0/me/cards/"+card+"/transactions",
		"POST /v0/me/cards/"+card+"/transactions/"+prev.PreviewID+"/commit")

	if _, err := p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 10, Cursor: "5"}); err == nil {
		t.Fatal("a range beyond the list was answered") // Uphold answers 416
	}
	got = f.rec.take()
	if len(got) != 1 || got[0].Path != "/v0/me/transactions" || got[0].Header.Get("Range") != "items=5-14" {
		t.Fatalf("history request = %v", got)
	}
	if _, err := p.Rates(ctx, "EUR"); err != nil {
		t.Fatal(err)
	}
	got = f.rec.take()
	wantRequests(t, "rates", got, nil, "GET /v0/ticker/EUR")
	if got[0].Header.Get("Authorization") != "" {
		t.Fatal("the public ticker was sent a token")
	}
	if err := p.Revoke(ctx, c); err != nil {
		t.Fatal(err)
	}
	got = f.rec.take()
	wantRequests(t, "revoke", got, nil, "POST /oauth2/revoke")
	if got[0].Header.Get("Authorization") != "Bearer "+c.AccessToken.Reveal() || got[0].Body != "token="+url.QueryEscape(c.AccessToken.Reveal()) {
		t.Fatalf("revoke request = %+v", got[0])
	}
	wantProviderError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "invalid_token")
}
