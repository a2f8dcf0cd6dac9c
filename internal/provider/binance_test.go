package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

var loopback = []string{"127.0.0.1", "::1"}

func newBinanceFixture(t *testing.T, simCfg exchangesim.Config) (*simFixture, *Binance) {
	t.Helper()
	f := newSimFixture(t, exchangesim.NewBinance, simCfg)
	p, err := NewBinance(Config{APIBaseURL: f.srv.URL, TrustedIPs: loopback}, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

// binanceConnect creates a key for username with permissions perms at the simulator
// and connects it with scope, as a user does in Link.
func binanceConnect(t *testing.T, f *simFixture, p *Binance, username string, perms exchangesim.APIKeyPermissions, scope linkvault.Permission) linkvault.Credential {
	t.Helper()
	k, err := f.ex.CreateAPIKey(username, perms)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.ConnectAPIKey(context.Background(), linkvault.APIKeyRequest{Key: k.Key, Secret: linkvault.NewSecret(k.Secret), Scope: scope})
	if err != nil {
		t.Fatalf("ConnectAPIKey: %v", err)
	}
	return c
}

var withdrawKey = exchangesim.APIKeyPermissions{Withdrawals: true, TrustedIPs: loopback}

// TestBinanceConnectAPIKey: the key must work and carry exactly the permissions of the
// connection's scope (bnDocsKeyPerm); each shortfall has its own code.
func TestBinanceConnectAPIKey(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	key := func(perms exchangesim.APIKeyPermissions) exchangesim.APIKey {
		k, err := f.ex.CreateAPIKey("kim", perms)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	read, write := key(exchangesim.APIKeyPermissions{}), key(withdrawKey)
	trading := key(exchangesim.APIKeyPermissions{Trading: true, TrustedIPs: loopback})
	elsewhere := key(exchangesim.APIKeyPermissions{TrustedIPs: []string{"203.0.113.9"}})
	tests := []struct {
		name        string
		key, secret string
		scope       linkvault.Permission
		kind        linkvault.ProviderErrorKind // 0: accepted
		code        string
	}{
		{"read key, read connection", read.Key, read.Secret, linkvault.PermissionRead, 0, ""},
		{"withdrawal key, write connection", write.Key, write.Secret, linkvault.PermissionWrite, 0, ""},
		{"read key, write connection", read.Key, read.Secret, linkvault.PermissionWrite, linkvault.ProviderRejected, "key_cannot_withdraw"},
		{"withdrawal key, read connection", write.Key, write.Secret, linkvault.PermissionRead, linkvault.ProviderRejected, "key_can_withdraw"},
		{"trading key", trading.Key, trading.Secret, linkvault.PermissionRead, linkvault.ProviderRejected, "key_too_powerful"},
		{"secret of another key", read.Key, write.Secret, linkvault.PermissionRead, linkvault.ProviderReauth, "invalid_signature"},
		{"unknown key", strings.Repeat("K", 64), read.Secret, linkvault.PermissionRead, linkvault.ProviderReauth, "invalid_api_key"},
		{"key restricted to other IPs", elsewhere.Key, elsewhere.Secret, linkvault.PermissionRead, linkvault.ProviderReauth, "invalid_api_key"},
		{"not a key", "my password", read.Secret, linkvault.PermissionRead, linkvault.ProviderRejected, "invalid_api_key_format"},
		{"no secret", read.Key, "", linkvault.PermissionRead, linkvault.ProviderRejected, "invalid_api_key_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.ConnectAPIKey(ctx, linkvault.APIKeyRequest{Key: " " + tt.key + "\n", Secret: linkvault.NewSecret(tt.secret), Scope: tt.scope})
			if tt.kind != 0 {
				wantProviderError(t, err, tt.kind, tt.code)
				if tt.secret != "" {
					assertNoLeak(t, err, tt.secret)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessToken.Reveal() != tt.key || c.APISecret.Reveal() != tt.secret || c.Subject == "" ||
				!c.Expiry.IsZero() || c.CanRefresh() {
				t.Fatalf("credential = %+v", c)
			}
		})
	}
}

// TestBinanceDeletedKeyNeedsReauth: a key the user deleted (or Binance deleted) answers
// -2015, which makes the connection re-auth-required; a new key is entered in Link.
func TestBinanceDeletedKeyNeedsReauth(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	c := binanceConnect(t, f, p, "lou", exchangesim.APIKeyPermissions{}, linkvault.PermissionRead)
	if err := p.Validate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Refresh(ctx, c); err != nil || !got.AccessToken.Equal(c.AccessToken) {
		t.Fatalf("Refresh = %v; want the same key back", err)
	}
	f.rec.take()
	if err := p.Revoke(ctx, c); err != nil || len(f.rec.take()) != 0 {
		t.Fatalf("Revoke = %v; want no call (Binance has no key deletion endpoint)", err)
	}
	// The password is not tied to the key.
	if err := f.ex.ChangePassword("lou", "new"); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(ctx, c); err != nil {
		t.Fatalf("after a password change: %v", err)
	}
	if _, err := f.ex.RevokeUserGrants("lou"); err != nil {
		t.Fatal(err)
	}
	pe := providerError(t, p.Validate(ctx, c), linkvault.ProviderReauth, "invalid_api_key")
	if pe.StatusCode != 401 {
		t.Fatalf("status %d", pe.StatusCode)
	}
	_, err := p.Refresh(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "invalid_api_key")
	_, err = p.Holdings(ctx, c)
	wantProviderError(t, err, linkvault.ProviderReauth, "invalid_api_key")
	// A credential without its secret cannot sign anything.
	noSecret := c
	noSecret.APISecret = linkvault.Secret{}
	wantProviderError(t, p.Validate(ctx, noSecret), linkvault.ProviderReauth, "invalid_api_key")
}

// TestBinanceClockSkew: with our clock behind Binance's by more than recvWindow the
// exchange answers -1021; the adapter reads GET /api/v3/time once, retries, and signs
// later requests with the learnt offset.
func TestBinanceClockSkew(t *testing.T) {
	ctx := context.Background()
	f := newSimFixture(t, exchangesim.NewBinance, exchangesim.Config{})
	deps := f.deps
	deps.Now = func() time.Time { return f.clock.Now().Add(-8 * time.Second) }
	p, err := NewBinance(Config{APIBaseURL: f.srv.URL}, deps)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := f.ex.CreateAPIKey("max", exchangesim.APIKeyPermissions{})
	c := linkvault.Credential{AccessToken: linkvault.NewSecret(k.Key), APISecret: linkvault.NewSecret(k.Secret)}
	if err := p.Validate(ctx, c); err != nil {
		t.Fatal(err)
	}
	drop := []string{"timestamp", "recvWindow", "signature"}
	wantRequests(t, "validate", f.rec.take(), drop, "GET /sapi/v1/account/apiRestrictions", "GET /api/v3/time", "GET /sapi/v1/account/apiRestrictions")
	if err := p.Validate(ctx, c); err != nil {
		t.Fatal(err)
	}
	got := f.rec.take()
	wantRequests(t, "validate again", got, drop, "GET /sapi/v1/account/apiRestrictions")
	if ts := got[0].Query.Get("timestamp"); ts != strconv.FormatInt(f.clock.Now().UnixMilli(), 10) {
		t.Fatalf("timestamp %s, want the exchange's time %d", ts, f.clock.Now().UnixMilli())
	}
}

func TestBinancePortfolioAndTransfer(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	if err := f.ex.CreateUser(exchangesim.User{Username: "ned", Password: "pw", Balances: map[string]float64{"BTC": 0.5, "ETH": 2, "USDT": 100}}); err != nil {
		t.Fatal(err)
	}
	c := binanceConnect(t, f, p, "ned", withdrawKey, linkvault.PermissionWrite)
	accts, err := p.Accounts(ctx, c)
	if err != nil || len(accts) != 1 || accts[0].Fund != 36100 || accts[0].AccountID != c.Subject {
		t.Fatalf("Accounts = %+v, %v", accts, err)
	}
	h, err := p.Holdings(ctx, c)
	if err != nil || len(h.CryptocurrencyPositions) != 3 {
		t.Fatalf("Holdings = %+v, %v", h, err)
	}
	for _, pos := range h.CryptocurrencyPositions {
		if pos.Symbol == "ETH" && (pos.Amount != dec("2") || pos.LastPrice != dec("3000") || pos.MarketValue != dec("6000")) {
			t.Fatalf("ETH position = %+v", pos)
		}
	}
	if bals, err := p.Balances(ctx, c); err != nil || len(bals) != 1 || bals[0].CurrencyCode != "USD" || bals[0].Cash.Sign() != 0 {
		t.Fatalf("Balances = %+v, %v", bals, err)
	}
	opts, err := p.TransferOptions(ctx, c)
	if err != nil || len(opts) != 3 {
		t.Fatalf("TransferOptions = %+v, %v", opts, err)
	}
	for _, a := range opts {
		if a.Symbol != "ETH" {
			continue
		}
		if a.Available != dec("2") || len(a.Networks) != 2 || a.Networks[0].Network != "ethereum" || !a.Networks[0].Default ||
			a.Networks[1].Network != "base" || a.Networks[1].Fee != dec("0.00002") || a.Networks[1].Minimum != dec("0.0001") ||
			!a.Networks[1].FeeKnown || a.Networks[1].ExchangeCode != "BASE" || a.Networks[1].AddressPattern == "" {
			t.Fatalf("ETH = %+v", a)
		}
	}

	const addr = "bc1qexampleaddress000000000000000000"
	req := linkvault.TransferRequest{ClientTransactionID: "n-1", ToAddress: addr, Symbol: "BTC", Network: "bitcoin", Amount: dec("0.01")}
	prev, err := p.PreviewTransfer(ctx, c, req)
	if err != nil || prev.Fee != dec("0.0001") || prev.Total != dec("0.0101") || !prev.FeeKnown || prev.Minimum != dec("0.0002") || prev.InsufficientFund {
		t.Fatalf("preview = %+v, %v", prev, err)
	}
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil || len(res.TransferID) != 32 || res.Amount != dec("0.01") || res.Fee != dec("0.0001") || res.ClientTransactionID != "n-1" ||
		res.Status != linkvault.TransferSucceeded || res.Network != "bitcoin" || res.Hash == "" {
		t.Fatalf("execute = %+v, %v", res, err)
	}
	// Binance's amount includes the fee: 0.0101 left the account, 0.01 arrives.
	if b, _ := f.ex.Balances("ned"); b["BTC"] != 0.4899 {
		t.Fatalf("BTC = %v, want 0.4899", b["BTC"])
	}
	again, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil || again.TransferID != res.TransferID {
		t.Fatalf("repeat = %+v, %v; want %s", again, err, res.TransferID)
	}
	if s := f.ex.Stats(); s.Transfers != 1 {
		t.Fatalf("Transfers = %d, want 1", s.Transfers)
	}

	refusals := []struct {
		name string
		edit func(*linkvault.TransferRequest)
		code string
	}{
		{"more than the balance", func(r *linkvault.TransferRequest) { r.Amount = dec("1") }, "insufficient_funds"},
		{"below the minimum with the fee", func(r *linkvault.TransferRequest) { r.Amount = dec("0.00005") }, "below_minimum"},
		{"network the coin lacks", func(r *linkvault.TransferRequest) { r.Network = "solana" }, "invalid_network"},
		{"unknown network", func(r *linkvault.TransferRequest) { r.Network = "dogechain" }, "invalid_network"},
		{"address of another chain", func(r *linkvault.TransferRequest) { r.ToAddress = "0x1111111111111111111111111111111111111111" }, "invalid_address"},
		{"memo where none is used", func(r *linkvault.TransferRequest) { r.AddressTag = "123" }, "invalid_tag"},
		{"finer than the withdrawal step", func(r *linkvault.TransferRequest) { r.Amount = dec("0.010000001") }, "invalid_amount"},
	}
	for _, tt := range refusals {
		r := req
		r.ClientTransactionID = "n-" + tt.name
		tt.edit(&r)
		_, err := p.ExecuteTransfer(ctx, c, r)
		wantProviderError(t, err, linkvault.ProviderRejected, tt.code)
	}
	if prev, err := p.PreviewTransfer(ctx, c, linkvault.TransferRequest{ToAddress: addr, Symbol: "BTC", Network: "bitcoin", Amount: dec("1")}); err != nil || !prev.InsufficientFund {
		t.Fatalf("preview of too much = %+v, %v", prev, err)
	}
	if s := f.ex.Stats(); s.Transfers != 1 {
		t.Fatalf("a refused transfer reached the exchange: %d", s.Transfers)
	}

	// A read-only key cannot withdraw: said before anything is applied for.
	ro := binanceConnect(t, f, p, "ned", exchangesim.APIKeyPermissions{}, linkvault.PermissionRead)
	r := req
	r.ClientTransactionID = "n-ro"
	_, err = p.ExecuteTransfer(ctx, c, linkvault.TransferRequest{})
	wantProviderError(t, err, linkvault.ProviderRejected, "")
	_, err = p.ExecuteTransfer(ctx, ro, r)
	wantProviderError(t, err, linkvault.ProviderRejected, "insufficient_scope")
}

func TestBinanceHistoryAddressHolderRates(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	if err := f.ex.CreateUser(exchangesim.User{Username: "ola", Password: "pw", Balances: map[string]float64{"ETH": 3}}); err != nil {
		t.Fatal(err)
	}
	c := binanceConnect(t, f, p, "ola", withdrawKey, linkvault.PermissionWrite)
	if err := f.ex.Deposit("ola", "ETH", "base", 0.5); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	var ids []string
	for i := range 3 {
		res, err := p.ExecuteTransfer(ctx, c, linkvault.TransferRequest{ClientTransactionID: "o" + strconv.Itoa(i),
			ToAddress: "0x5555555555555555555555555555555555555555", Symbol: "ETH", Network: "ethereum", Amount: dec("0.1")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.TransferID)
		f.clock.Advance(time.Second)
	}
	page, err := p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 2})
	if err != nil || len(page.Transfers) != 2 || page.Cursor != "2:0" || page.Transfers[0].TransferID != ids[2] {
		t.Fatalf("page 1 = %+v, %v", page, err)
	}
	page2, err := p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 2, Cursor: page.Cursor})
	if err != nil || len(page2.Transfers) != 2 || page2.Cursor != "" || page2.Transfers[0].TransferID != ids[0] {
		t.Fatalf("page 2 = %+v, %v", page2, err)
	}
	dep := page2.Transfers[1]
	if dep.Direction != linkvault.TransferDeposit || dep.Amount != dec("0.5") || dep.Network != "base" || dep.Status != linkvault.TransferSucceeded {
		t.Fatalf("deposit = %+v", dep)
	}
	if _, err := p.Transfers(ctx, c, linkvault.TransferQuery{Cursor: "x"}); err == nil {
		t.Fatal("a malformed cursor was accepted")
	}
	wantWithdrawalAndAddresses(t, p, c, linkvault.TransferRef{TransferID: ids[1]}, linkvault.TransferRef{TransferID: strings.Repeat("0", 32)},
		linkvault.DepositAddressRequest{Symbol: "USDC", Network: "solana"})
	_, err = p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: "ETH", Network: "nowhere"})
	wantProviderError(t, err, linkvault.ProviderRejected, "invalid_network")

	holder, err := p.AccountHolder(ctx, c)
	if err != nil || holder.AccountNumber != c.Subject || holder.FirstName != "" {
		t.Fatalf("AccountHolder = %+v, %v", holder, err)
	}

	rates, err := p.Rates(ctx, "USD")
	if err != nil || rates.Base != "USDT" || rates.Source != linkvault.BrokerBinance || !rates.AsOf.Equal(simEpoch.Add(4*time.Second)) {
		t.Fatalf("Rates = %+v, %v", rates, err)
	}
	if v, ok := rates.Convert(dec("60000"), "USDT", "BTC", 8); !ok || v != dec("1") {
		t.Fatalf("60000 USDT in BTC = %s", v)
	}
	if _, err := p.Rates(ctx, "../x"); err == nil {
		t.Fatal("a malformed base was accepted")
	}
}

// hmacSHA256Hex is the signature of bnDocsSecurity, hex(HMAC-SHA256(secret, payload)),
// computed here rather than with the adapter's binanceSignature.
func hmacSHA256Hex(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// checkSigned verifies a recorded SIGNED request the way Binance does
// (bnDocsSecurity): the key header, timestamp and recvWindow, and the signature over
// the query string followed by the body.
func checkSigned(t *testing.T, r recorded, key, secret string, now time.Time) {
	t.Helper()
	if r.Header.Get("X-MBX-APIKEY") != key || r.Header.Get("Authorization") != "" {
		t.Fatalf("%s: headers %v", r, r.Header)
	}
	payload := r.RawQuery
	if r.Method != http.MethodGet {
		if r.RawQuery != "" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("%s: POST parameters belong in a form body (%q, %s)", r, r.RawQuery, r.Header.Get("Content-Type"))
		}
		payload = r.Body
	}
	signed, sig, ok := strings.Cut(payload, "&signature=")
	if !ok || strings.Contains(sig, "&") {
		t.Fatalf("%s: signature is not the last parameter: %s", r, payload)
	}
	if hmacSHA256Hex(secret, signed) != sig {
		t.Fatalf("%s: signature does not verify", r)
	}
	q, _ := url.ParseQuery(signed)
	if q.Get("timestamp") != strconv.FormatInt(now.UnixMilli(), 10) || q.Get("recvWindow") != "5000" {
		t.Fatalf("%s: timestamp %s recvWindow %s", r, q.Get("timestamp"), q.Get("recvWindow"))
	}
}

// TestBinanceRequestsAgainstSimulator: the exact requests of each operation.
func TestBinanceRequestsAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	if err := f.ex.CreateUser(exchangesim.User{Username: "rq", Password: "pw", Balances: map[string]float64{"BTC": 1}}); err != nil {
		t.Fatal(err)
	}
	k, _ := f.ex.CreateAPIKey("rq", withdrawKey)
	c, err := p.ConnectAPIKey(ctx, linkvault.APIKeyRequest{Key: k.Key, Secret: linkvault.NewSecret(k.Secret), Scope: linkvault.PermissionWrite})
	if err != nil {
		t.Fatal(err)
	}
	drop := []string{"timestamp", "recvWindow", "signature"}
	now := f.clock.Now()
	check := func(op string, want ...string) []recorded {
		t.Helper()
		got := f.rec.take()
		wantRequests(t, op, got, drop, want...)
		for _, r := range got {
			if strings.HasPrefix(r.Path, "/sapi/") || r.Path == "/api/v3/account" {
				checkSigned(t, r, k.Key, k.Secret, now)
			} else if r.Header.Get("X-MBX-APIKEY") != "" {
				t.Fatalf("%s: the public endpoint was sent the key", r)
			}
		}
		return got
	}
	check("connect", "GET /sapi/v1/account/apiRestrictions", "GET /api/v3/account?omitZeroBalances=true")
	if _, err := p.Holdings(ctx, c); err != nil {
		t.Fatal(err)
	}
	check("holdings", "GET /api/v3/account?omitZeroBalances=true", "GET /api/v3/ticker/price")
	if _, err := p.TransferOptions(ctx, c); err != nil {
		t.Fatal(err)
	}
	check("transfer options", "GET /sapi/v1/capital/config/getall")
	req := linkvault.TransferRequest{ClientTransactionID: "rq-1", ToAddress: "bc1qexampleaddress000000000000000000", Symbol: "BTC",
		Network: "bitcoin", Amount: dec("0.25000")}
	if _, err := p.PreviewTransfer(ctx, c, req); err != nil {
		t.Fatal(err)
	}
	check("preview", "GET /sapi/v1/capital/config/getall")
	res, err := p.ExecuteTransfer(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	order := uuidFromKey("rq-1")
	got := check("execute", "GET /sapi/v1/capital/withdraw/history?withdrawOrderId="+order, "GET /sapi/v1/account/apiRestrictions",
		"GET /sapi/v1/capital/config/getall", "POST /sapi/v1/capital/withdraw/apply", "GET /sapi/v1/capital/withdraw/history?idList="+res.TransferID)
	body, _ := url.ParseQuery(got[3].Body)
	body.Del("signature")
	body.Del("timestamp")
	body.Del("recvWindow")
	// The amount applied for is the amount to arrive plus the published fee.
	if want := (url.Values{"coin": {"BTC"}, "network": {"BTC"}, "address": {req.ToAddress}, "amount": {"0.2501"}, "withdrawOrderId": {order}}); body.Encode() != want.Encode() {
		t.Fatalf("withdraw body = %s, want %s", body.Encode(), want.Encode())
	}
	if _, err := p.ExecuteTransfer(ctx, c, req); err != nil {
		t.Fatal(err)
	}
	check("execute again", "GET /sapi/v1/capital/withdraw/history?withdrawOrderId="+order)
	if _, err := p.Transfers(ctx, c, linkvault.TransferQuery{Limit: 10, Symbol: "BTC", Since: simEpoch.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	since := strconv.FormatInt(simEpoch.Add(-time.Hour).UnixMilli(), 10)
	check("history", "GET /sapi/v1/capital/withdraw/history?coin=BTC&limit=10&offset=0&startTime="+since,
		"GET /sapi/v1/capital/deposit/hisrec?coin=BTC&limit=10&offset=0&startTime="+since)
	if _, err := p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: "BTC"}); err != nil {
		t.Fatal(err)
	}
	check("deposit address", "GET /sapi/v1/capital/config/getall", "GET /sapi/v1/capital/deposit/address?coin=BTC&network=BTC")
	p.rates = newRateCache(DefaultRatesTTL, f.clock.Now) // forget the prices holdings cached
	if _, err := p.Rates(ctx, "USD"); err != nil {
		t.Fatal(err)
	}
	check("rates", "GET /api/v3/ticker/price")
}

// TestBinanceWeightHeaders: near a published weight budget the adapter stops calling
// until the minute is over (bnDocsLimits), instead of running into 429 and a ban.
func TestBinanceWeightHeaders(t *testing.T) {
	ctx := context.Background()
	f, p := newBinanceFixture(t, exchangesim.Config{})
	c := binanceConnect(t, f, p, "pat", exchangesim.APIKeyPermissions{}, linkvault.PermissionRead)
	p.watchWeights(http.Header{"X-Mbx-Used-Weight-1m": {"5000"}}, f.clock.Now())
	if err := p.Validate(ctx, c); err != nil {
		t.Fatalf("below the headroom: %v", err)
	}
	p.watchWeights(http.Header{"X-Sapi-Used-Ip-Weight-1m": {"11500"}}, f.clock.Now())
	f.rec.take()
	pe := providerError(t, p.Validate(ctx, c), linkvault.ProviderTransient, "rate_limited")
	if pe.RetryAfter <= 0 || pe.RetryAfter > time.Minute+time.Second || len(f.rec.take()) != 0 {
		t.Fatalf("RetryAfter %v; want a wait to the next minute and no request", pe.RetryAfter)
	}
	f.clock.Advance(time.Minute)
	if err := p.Validate(ctx, c); err != nil {
		t.Fatalf("next minute: %v", err)
	}
}

// TestBinanceIntegration: what Link shows the user creating a key.
func TestBinanceIntegration(t *testing.T) {
	_, p := newBinanceFixture(t, exchangesim.Config{})
	in := p.Integration()
	k := in.APIKey
	if in.AuthKind != linkvault.AuthAPIKey || in.SupportsRefresh || in.SupportsRevocation || !in.SupportsTransfers || k == nil ||
		k.ManageURL != BinanceAPIManagementURL || !k.WriteNeedsTrustedIPs || len(k.TrustedIPs) != 2 || len(k.Forbidden) == 0 ||
		strings.Join(k.ReadPermissions, ",") != "Enable Reading" || strings.Join(k.WritePermissions, ",") != "Enable Reading,Enable Withdrawals" {
		t.Fatalf("Integration = %+v, key %+v", in, k)
	}
	for _, n := range in.Networks {
		if _, ok := linkvault.LookupNetwork(n); !ok {
			t.Fatalf("network %q is not in linkvault.Networks", n)
		}
	}
}

// TestBinanceSignatureDocumentedExample: the worked example of bnDocsSecurity (its
// secret key, parameters and resulting signature, both the ASCII and the
// percent-encoded Unicode one).
func TestBinanceSignatureDocumentedExample(t *testing.T) {
	secret := linkvault.NewSecret("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	const rest = "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	for payload, want := range map[string]string{
		"symbol=LTCBTC" + rest: "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
		"symbol=" + url.QueryEscape("１２３４５６") + rest: "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3",
	} {
		if got := binanceSignature(secret, payload); got != want {
			t.Errorf("signature of %s = %s, want %s", payload, got, want)
		}
	}
}
