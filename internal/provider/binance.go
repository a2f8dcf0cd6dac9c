package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/linkvault/linkvault"
)

// Binance is reached with an API key the user creates in Binance's API Management and
// pastes into Link: every private request carries the key in X-MBX-APIKEY and is signed
// with its secret (HMAC-SHA256 over the query string and body, with timestamp and
// recvWindow). Binance's OAuth ("Binance Login") is offered to closed ecosystem partners
// only, so a self-hosted deployment cannot obtain it; docs/providers.md explains the
// choice. The reference pages this adapter follows:
//
//   - bnDocsSecurity     https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
//   - bnDocsEndpointSec  https://developers.binance.com/docs/binance-spot-api-docs/rest-api/endpoint-security-type
//   - bnDocsLimits       https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits
//   - bnDocsHTTPCodes    https://developers.binance.com/docs/binance-spot-api-docs/rest-api/http-return-codes
//   - bnDocsErrors       https://developers.binance.com/docs/binance-spot-api-docs/errors
//   - bnDocsServerTime   https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#check-server-time
//   - bnDocsAccount      https://developers.binance.com/docs/binance-spot-api-docs/rest-api/account-endpoints#account-information-user_data
//   - bnDocsTicker       https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints#symbol-price-ticker
//   - bnDocsKeyPerm      https://developers.binance.com/docs/wallet/account/api-key-permission
//   - bnDocsAllCoins     https://developers.binance.com/docs/wallet/capital
//   - bnDocsDepositAddr  https://developers.binance.com/docs/wallet/capital/deposite-address
//   - bnDocsDepositHist  https://developers.binance.com/docs/wallet/capital/deposite-history
//   - bnDocsWithdraw     https://developers.binance.com/docs/wallet/capital/withdraw
//   - bnDocsWithdrawHist https://developers.binance.com/docs/wallet/capital/withdraw-history
//   - bnDocsLogin        https://developers.binance.com/docs/login/introduction

// BinanceProduction is Binance's real API base.
var BinanceProduction = Config{APIBaseURL: "https://api.binance.com"}

// BinanceAPIManagementURL is where a user creates and deletes API keys.
const BinanceAPIManagementURL = "https://www.binance.com/en/my/settings/api-management"

// BinanceAPIKeyHeader carries the API key (bnDocsEndpointSec).
const BinanceAPIKeyHeader = "X-MBX-APIKEY"

// Binance request timing (bnDocsSecurity "Timing security": recvWindow defaults to
// 5000 ms and may not exceed 60000 ms).
const (
	binanceDefaultRecvWindow = 5 * time.Second
	binanceMaxRecvWindow     = 60 * time.Second
)

// Binance's published request-weight budgets per minute (bnDocsLimits and the wallet
// endpoints' "Request Weight"): the adapter stops calling before it reaches them, as a
// client that keeps calling after a 429 gets its IP banned (418).
const (
	binanceWeightLimit1M = 6000  // X-MBX-USED-WEIGHT-1M, REQUEST_WEIGHT per IP
	binanceSAPIIPLimit1M = 12000 // X-SAPI-USED-IP-WEIGHT-1M
	binanceHeadroom      = 0.95
)

// binanceNetworkNames maps Binance's network codes (networkList[].network of
// bnDocsAllCoins) to linkvault's codes.
var binanceNetworkNames = networkNames{
	"BTC": "bitcoin", "ETH": "ethereum", "BASE": "base", "ARBITRUM": "arbitrum", "OPTIMISM": "optimism",
	"MATIC": "polygon", "AVAXC": "avalanche", "BSC": "bsc", "SOL": "solana", "TRX": "tron", "LTC": "litecoin",
	"DOGE": "dogecoin", "BCH": "bitcoin-cash", "XRP": "xrp", "XLM": "stellar", "ADA": "cardano",
}

// binanceForbidden are key permissions (bnDocsKeyPerm) that give more power than
// linkvault uses: it never trades or moves funds between accounts, so a key that can is
// refused rather than stored.
var binanceForbidden = []struct{ field, label string }{
	{"enableSpotAndMarginTrading", "Enable Spot & Margin Trading"},
	{"enableMargin", "Enable Margin Loan, Repay & Transfer"},
	{"enableFutures", "Enable Futures"},
	{"enableVanillaOptions", "Enable European Options"},
	{"enableInternalTransfer", "Permits Internal Transfer"},
	{"permitsUniversalTransfer", "Permits Universal Transfer"},
	{"enablePortfolioMarginTrading", "Enable Portfolio Margin Trading"},
	{"enableFixApiTrade", "Enable FIX API Trading"},
}

// Binance is the adapter for Binance (binanceInternationalDirect) with a user-created
// HMAC API key. The key does not expire by itself and cannot be refreshed; when the user
// deletes it, changes its permissions or restricts it to other IPs, Binance refuses it
// (-2015) and the connection needs the user to enter a key again.
type Binance struct {
	http       *caller
	apiBase    string
	recvWindow time.Duration
	trustedIPs []string
	manageURL  string
	rates      *rateCache
	// offset is Binance's clock minus ours, in ms, learnt from GET /api/v3/time after a
	// -1021 (timestamp outside recvWindow).
	offset atomic.Int64
}

var _ linkvault.APIKeyProvider = (*Binance)(nil)

// NewBinance builds the Binance adapter; an empty APIBaseURL takes BinanceProduction.
func NewBinance(cfg Config, d Deps) (*Binance, error) {
	cfg = cfg.withDefaults(BinanceProduction)
	d = d.withDefaults()
	rw := cfg.RecvWindow
	if rw <= 0 {
		rw = binanceDefaultRecvWindow
	}
	rw = min(rw, binanceMaxRecvWindow)
	p := &Binance{
		http: newCaller(linkvault.BrokerBinance, cfg, d), apiBase: strings.TrimRight(cfg.APIBaseURL, "/"),
		recvWindow: rw, trustedIPs: append([]string(nil), cfg.TrustedIPs...),
		manageURL: firstNonEmpty(cfg.AuthURL, BinanceAPIManagementURL), rates: newRateCache(DefaultRatesTTL, d.Now),
	}
	p.http.gate = true // limits and bans are per IP (bnDocsLimits)
	p.http.onResponse = p.watchWeights
	return p, nil
}

// Integration describes the adapter for the catalog, with what the key must allow.
func (p *Binance) Integration() linkvault.Integration {
	forbidden := make([]string, len(binanceForbidden))
	for i, f := range binanceForbidden {
		forbidden[i] = f.label
	}
	nets := make([]string, 0, len(binanceNetworkNames))
	for _, n := range linkvault.Networks {
		if binanceNetworkNames.exchange(n.Code) != "" {
			nets = append(nets, n.Code)
		}
	}
	return linkvault.Integration{
		Type: linkvault.BrokerBinance, Name: "Binance", AuthKind: linkvault.AuthAPIKey, BrandColor: "#F0B90B",
		SupportsRefresh: false, SupportsRevocation: false, SupportsTransfers: true, Networks: nets,
		APIKey: &linkvault.APIKeyInstructions{
			ManageURL: p.manageURL, DocsURL: "https://www.binance.com/en/support/faq/detail/360002502072",
			ReadPermissions: []string{"Enable Reading"}, WritePermissions: []string{"Enable Reading", "Enable Withdrawals"},
			Forbidden: forbidden, TrustedIPs: p.trustedIPs, WriteNeedsTrustedIPs: true,
		},
	}
}

// ConnectAPIKey checks a key the user pasted: it must work, allow reading, allow
// withdrawals exactly when the connection is for writing, and allow nothing linkvault
// does not use (GET /sapi/v1/account/apiRestrictions, bnDocsKeyPerm). The user id comes
// from GET /api/v3/account (bnDocsAccount).
func (p *Binance) ConnectAPIKey(ctx context.Context, r linkvault.APIKeyRequest) (linkvault.Credential, error) {
	const op = "connect"
	key, secret := strings.TrimSpace(r.Key), strings.TrimSpace(r.Secret.Reveal())
	if !plausibleBinanceKey(key) || !plausibleBinanceKey(secret) {
		return linkvault.Credential{}, rejected(linkvault.BrokerBinance, op, "invalid_api_key_format")
	}
	c := linkvault.Credential{AccessToken: linkvault.NewSecret(key), APISecret: linkvault.NewSecret(secret), TokenType: "binance-hmac-sha256"}
	perms, err := p.restrictions(ctx, c, op)
	if err != nil {
		return linkvault.Credential{}, err
	}
	if err := perms.check(r.Scope); err != nil {
		return linkvault.Credential{}, rejected(linkvault.BrokerBinance, op, err.Error())
	}
	acct, err := p.account(ctx, c, op)
	if err != nil {
		return linkvault.Credential{}, err
	}
	c.Subject = acct.UID
	return c, nil
}

var binanceKeyPattern = regexp.MustCompile(`^[A-Za-z0-9]{16,128}$`)

// plausibleBinanceKey: HMAC keys and secrets are 64 letters and digits; the check is
// looser so a format change at Binance does not lock users out.
func plausibleBinanceKey(s string) bool { return binanceKeyPattern.MatchString(s) }

// Refresh cannot renew a key: it checks the key still works and can read, and returns
// it unchanged.
func (p *Binance) Refresh(ctx context.Context, c linkvault.Credential) (linkvault.Credential, error) {
	if err := p.validate(ctx, c, "refresh"); err != nil {
		return linkvault.Credential{}, err
	}
	return c, nil
}

// Validate reads the key's permissions (weight 1); a deleted key answers -2015.
func (p *Binance) Validate(ctx context.Context, c linkvault.Credential) error {
	return p.validate(ctx, c, "validate")
}

func (p *Binance) validate(ctx context.Context, c linkvault.Credential, op string) error {
	perms, err := p.restrictions(ctx, c, op)
	if err != nil {
		return err
	}
	if !perms.Reading {
		return reauth(linkvault.BrokerBinance, op, "insufficient_permissions")
	}
	return nil
}

// Revoke: an API key cannot delete itself through Binance's API, so there is nothing to
// call; the user deletes it in API Management (Link and docs/providers.md say so).
// linkvault forgets the key when the connection is removed.
func (p *Binance) Revoke(context.Context, linkvault.Credential) error { return nil }

// --- signing ---

// signed sends a SIGNED (USER_DATA) request (bnDocsSecurity): params plus timestamp and
// recvWindow, HMAC-SHA256 of the query string concatenated with the body under the
// secret key, hex, in `signature`; the key in X-MBX-APIKEY. GET parameters go in the
// query string, POST parameters in a form body. A -1021 (our clock off by more than
// recvWindow) re-reads Binance's time once and retries.
func (p *Binance) signed(ctx context.Context, op, method, path string, params url.Values, c linkvault.Credential) (*apiResponse, error) {
	if c.AccessToken.IsZero() || c.APISecret.IsZero() {
		return nil, reauth(linkvault.BrokerBinance, op, "invalid_api_key")
	}
	resp, err := p.signedOnce(ctx, op, method, path, params, c)
	var pe *linkvault.ProviderError
	if errors.As(err, &pe) && pe.Code == "timestamp_out_of_window" {
		if serr := p.syncTime(ctx, op); serr == nil {
			return p.signedOnce(ctx, op, method, path, params, c)
		}
	}
	return resp, err
}

func (p *Binance) signedOnce(ctx context.Context, op, method, path string, params url.Values, c linkvault.Credential) (*apiResponse, error) {
	v := url.Values{}
	for k, vs := range params {
		v[k] = vs
	}
	v.Set("timestamp", strconv.FormatInt(p.http.now().UnixMilli()+p.offset.Load(), 10))
	v.Set("recvWindow", strconv.FormatInt(p.recvWindow.Milliseconds(), 10))
	payload := v.Encode()
	sig := binanceSignature(c.APISecret, payload)
	u, body := p.apiBase+path, any(nil)
	if method == http.MethodGet {
		u += "?" + payload + "&signature=" + sig
	} else {
		body = formBody(payload + "&signature=" + sig)
	}
	return p.http.call(ctx, op, method, u, body, func(r *http.Request) {
		r.Header.Set(BinanceAPIKeyHeader, c.AccessToken.Reveal())
	}, binanceErrors)
}

// binanceSignature is hex(HMAC-SHA256(secret, totalParams)).
func binanceSignature(secret linkvault.Secret, totalParams string) string {
	m := hmac.New(sha256.New, []byte(secret.Reveal()))
	m.Write([]byte(totalParams))
	return hex.EncodeToString(m.Sum(nil))
}

// syncTime: GET /api/v3/time (bnDocsServerTime, public) to learn the clock offset.
func (p *Binance) syncTime(ctx context.Context, op string) error {
	before := p.http.now()
	resp, err := p.public(ctx, op, "/api/v3/time", nil)
	if err != nil {
		return err
	}
	var w struct {
		ServerTime int64 `json:"serverTime"`
	}
	if json.Unmarshal(resp.Body, &w) != nil || w.ServerTime <= 0 {
		return invalidResponse(linkvault.BrokerBinance, op, resp.Status)
	}
	mid := before.Add(p.http.now().Sub(before) / 2)
	p.offset.Store(w.ServerTime - mid.UnixMilli())
	return nil
}

func (p *Binance) public(ctx context.Context, op, path string, params url.Values) (*apiResponse, error) {
	u := p.apiBase + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	return p.http.call(ctx, op, http.MethodGet, u, nil, nil, binanceErrors)
}

// watchWeights reads the used-weight headers (bnDocsLimits) and pauses the adapter
// until the next minute when a budget is nearly spent.
func (p *Binance) watchWeights(h http.Header, now time.Time) {
	over := func(name string, limit int) bool {
		n, err := strconv.Atoi(h.Get(name))
		return err == nil && float64(n) >= binanceHeadroom*float64(limit)
	}
	if over("X-MBX-USED-WEIGHT-1M", binanceWeightLimit1M) || over("X-SAPI-USED-IP-WEIGHT-1M", binanceSAPIIPLimit1M) {
		p.http.pauseUntil(now.Truncate(time.Minute).Add(time.Minute))
	}
}

// --- reads ---

// binanceKeyPermissions is the answer of GET /sapi/v1/account/apiRestrictions.
type binanceKeyPermissions struct {
	Reading, Withdrawals, IPRestrict bool
	Extra                            []string // labels of permissions linkvault refuses
}

// check says why the key does not fit a connection of permission scope (nil: it fits).
func (k binanceKeyPermissions) check(scope linkvault.Permission) error {
	switch {
	case !k.Reading:
		return errors.New("key_cannot_read")
	case len(k.Extra) > 0:
		return errors.New("key_too_powerful")
	case scope.Allows(linkvault.PermissionWrite) && !k.Withdrawals:
		return errors.New("key_cannot_withdraw")
	case !scope.Allows(linkvault.PermissionWrite) && k.Withdrawals:
		return errors.New("key_can_withdraw")
	}
	return nil
}

// restrictions: GET /sapi/v1/account/apiRestrictions (bnDocsKeyPerm, weight 1).
func (p *Binance) restrictions(ctx context.Context, c linkvault.Credential, op string) (binanceKeyPermissions, error) {
	return decoded(p.http, op, parseBinanceRestrictions)(
		p.signed(ctx, op, http.MethodGet, "/sapi/v1/account/apiRestrictions", nil, c))
}

// account: GET /api/v3/account?omitZeroBalances=true (bnDocsAccount, weight 20).
func (p *Binance) account(ctx context.Context, c linkvault.Credential, op string) (binanceAccount, error) {
	return decoded(p.http, op, parseBinanceAccount)(
		p.signed(ctx, op, http.MethodGet, "/api/v3/account", url.Values{"omitZeroBalances": {"true"}}, c))
}

// usdtPrices returns the price of each asset in USDT, cached briefly (see Rates).
func (p *Binance) usdtPrices(ctx context.Context, op string) (linkvault.Rates, error) {
	return p.rates.get(ctx, "USDT", func(ctx context.Context) (linkvault.Rates, error) {
		// GET /api/v3/ticker/price (bnDocsTicker, public): every symbol's last price.
		resp, err := p.public(ctx, op, "/api/v3/ticker/price", nil)
		if err != nil {
			return linkvault.Rates{}, err
		}
		r, err := decode(p.http, op, resp, parseBinancePrices)
		if err != nil {
			return linkvault.Rates{}, err
		}
		r.Source, r.AsOf = linkvault.BrokerBinance, serverTime(resp.Header, p.http.now())
		return r, nil
	})
}

// priceUSD values an asset in USD through its USDT price: Binance lists no USD pairs,
// and holdings count a USDT as a dollar (Rates, by contrast, says Base "USDT").
func priceUSD(prices linkvault.Rates, asset string) linkvault.Decimal {
	switch asset {
	case "USD", "USDT":
		return linkvault.DecimalFromInt(1)
	}
	units, ok := prices.Rates[asset] // one USDT buys `units` of asset
	if !ok || units.Sign() <= 0 {
		return linkvault.Decimal{}
	}
	p, _ := linkvault.DecimalFromInt(1).Quo(units, ratePlaces)
	return p
}

func (p *Binance) valued(ctx context.Context, c linkvault.Credential, op string) (binanceAccount, linkvault.Rates, error) {
	acct, err := p.account(ctx, c, op)
	if err != nil {
		return binanceAccount{}, linkvault.Rates{}, err
	}
	prices, err := p.usdtPrices(ctx, op)
	if err != nil {
		p.http.log.WarnContext(ctx, "prices unavailable; positions unvalued", "error", err)
	}
	return acct, prices, nil
}

// Accounts reports the connection as one account valued in USD.
func (p *Binance) Accounts(ctx context.Context, c linkvault.Credential) ([]linkvault.Account, error) {
	acct, prices, err := p.valued(ctx, c, "accounts")
	if err != nil {
		return nil, err
	}
	return portfolioAccount(firstNonEmpty(acct.UID, c.Subject), "Binance", acct.Balances, func(b binanceBalance) (linkvault.Decimal, string, linkvault.Decimal) {
		return b.total().Mul(priceUSD(prices, b.Asset)), b.Asset, b.Free
	}), nil
}

// Holdings lists the crypto assets the account holds: free plus locked in open orders
// (what can be sent is TransferOptions' Available, the free part).
func (p *Binance) Holdings(ctx context.Context, c linkvault.Credential) (linkvault.Holdings, error) {
	acct, prices, err := p.valued(ctx, c, "holdings")
	if err != nil {
		return linkvault.Holdings{}, err
	}
	return portfolioHoldings(firstNonEmpty(acct.UID, c.Subject), "Binance", acct.Balances, func(b binanceBalance) (linkvault.Position, bool) {
		if isFiat(b.Asset) || b.total().Sign() <= 0 {
			return linkvault.Position{}, false
		}
		return position(b.Asset, "", b.total(), priceUSD(prices, b.Asset)), true
	}), nil
}

// Balances lists the free fiat balances (USD with zero when there is none).
func (p *Binance) Balances(ctx context.Context, c linkvault.Credential) ([]linkvault.Balance, error) {
	acct, err := p.account(ctx, c, "balances")
	return fiatBalances(binanceBalance.fiatCash)(acct.Balances, err)
}

// fiatCash is a fiat asset's code and free amount (false: a crypto asset).
func (b binanceBalance) fiatCash() (string, linkvault.Decimal, bool) {
	return b.Asset, b.Free, isFiat(b.Asset)
}

// coins: GET /sapi/v1/capital/config/getall (bnDocsAllCoins, weight 10): every coin with
// its free balance and, per network, withdrawal switch, fee, minimum, maximum,
// multiple and address/memo rules.
func (p *Binance) coins(ctx context.Context, c linkvault.Credential, op string) ([]binanceCoin, error) {
	return decoded(p.http, op, parseBinanceCoins)(p.signed(ctx, op, http.MethodGet, "/sapi/v1/capital/config/getall", nil, c))
}

func (n binanceNetwork) asset() linkvault.AssetNetwork {
	an := linkvault.AssetNetwork{
		Network: binanceNetworkNames.canonical(n.Network), ExchangeCode: n.Network, Name: n.Name, Default: n.Default,
		Enabled: n.WithdrawEnable, Fee: n.Fee, FeeKnown: true, Minimum: n.Min, Maximum: n.Max, Increment: n.Multiple,
		AddressPattern: n.AddressRegex, TagPattern: n.MemoRegex, TagRequired: n.TagRequired,
	}
	return an
}

// TransferOptions lists the coins with a free balance and the networks Binance
// publishes for them, with fees and limits.
func (p *Binance) TransferOptions(ctx context.Context, c linkvault.Credential) ([]linkvault.TransferAsset, error) {
	return transferAssets(binanceCoin.transferAsset)(p.coins(ctx, c, "transfer_options"))
}

// transferAsset is a crypto coin with the networks linkvault knows (false: fiat).
func (coin binanceCoin) transferAsset() (linkvault.TransferAsset, bool) {
	a := linkvault.TransferAsset{Symbol: coin.Coin, Name: coin.Name, Available: coin.Free}
	for _, n := range coin.Networks {
		if an := n.asset(); an.Network != "" {
			a.Networks = append(a.Networks, an)
		}
	}
	return a, !coin.Fiat
}

// plan is a checked withdrawal: the network, and the amount applied for (what arrives
// plus Binance's fee: the amount of a withdrawal includes the fee, which the
// destination does not receive).
type binancePlan struct {
	coin    binanceCoin
	network binanceNetwork
	gross   linkvault.Decimal
}

// plan applies what bnDocsAllCoins publishes before anything is sent.
func (p *Binance) plan(ctx context.Context, c linkvault.Credential, op string, r linkvault.TransferRequest) (binancePlan, error) {
	code := binanceNetworkNames.exchange(r.Network)
	if code == "" {
		return binancePlan{}, rejected(linkvault.BrokerBinance, op, "invalid_network")
	}
	coins, err := p.coins(ctx, c, op)
	if err != nil {
		return binancePlan{}, err
	}
	for _, coin := range coins {
		if coin.Coin != r.Symbol {
			continue
		}
		for _, n := range coin.Networks {
			if n.Network != code {
				continue
			}
			pl := binancePlan{coin: coin, network: n, gross: r.Amount.Add(n.Fee)}
			return pl, p.checkPlan(op, pl, r)
		}
	}
	return binancePlan{}, rejected(linkvault.BrokerBinance, op, "invalid_network")
}

func (p *Binance) checkPlan(op string, pl binancePlan, r linkvault.TransferRequest) error {
	n := pl.network
	fail := func(code string) error { return rejected(linkvault.BrokerBinance, op, code) }
	switch {
	case !n.WithdrawEnable:
		return fail("network_suspended")
	case !matches(n.AddressRegex, r.ToAddress):
		return fail("invalid_address")
	case r.AddressTag == "" && n.TagRequired, r.AddressTag != "" && (!n.TagRequired || !matches(n.MemoRegex, r.AddressTag)):
		return fail("invalid_tag")
	case n.Min.Sign() > 0 && pl.gross.LessThan(n.Min):
		return fail("below_minimum")
	case n.Max.Sign() > 0 && n.Max.LessThan(pl.gross):
		return fail("above_maximum")
	case n.Multiple.Sign() > 0 && !isMultiple(pl.gross, n.Multiple):
		return fail("invalid_amount")
	}
	return nil
}

// isMultiple reports whether a is a whole multiple of step.
func isMultiple(a, step linkvault.Decimal) bool {
	q, ok := a.Quo(step, 0)
	return ok && q.Mul(step) == a
}

// PreviewTransfer quotes from the published network data: fee, total and minimum;
// Binance has no quote endpoint, and the fee it publishes is the one it charges.
func (p *Binance) PreviewTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferPreview, error) {
	const op = "preview_transfer"
	if err := checkTransferRequest(linkvault.BrokerBinance, op, r, false); err != nil {
		return linkvault.TransferPreview{}, err
	}
	pl, err := p.plan(ctx, c, op, r)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	return linkvault.TransferPreview{
		Symbol: r.Symbol, Network: r.Network, ToAddress: r.ToAddress, AddressTag: r.AddressTag, Amount: r.Amount,
		Fee: pl.network.Fee, FeeCurrency: r.Symbol, FeeKnown: true, Total: pl.gross, Minimum: pl.network.Min,
		InsufficientFund: pl.coin.Free.LessThan(pl.gross),
	}, nil
}

// ExecuteTransfer withdraws at most once per r.ClientTransactionID. Binance documents
// withdrawOrderId as the client's id for looking a withdrawal up, not as a dedupe key,
// and a 5xx leaves the outcome unknown (bnDocsHTTPCodes), so the adapter first asks the
// withdrawal history for that id and only applies when there is none (POST
// /sapi/v1/capital/withdraw/apply, bnDocsWithdraw). The key must have Enable
// Withdrawals (read from apiRestrictions so a missing permission is said plainly).
func (p *Binance) ExecuteTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferResult, error) {
	const op = "execute_transfer"
	if err := checkTransferRequest(linkvault.BrokerBinance, op, r, true); err != nil {
		return linkvault.TransferResult{}, err
	}
	orderID := uuidFromKey(r.ClientTransactionID)
	if ws, err := p.withdrawals(ctx, c, op, url.Values{"withdrawOrderId": {orderID}}); err != nil {
		return linkvault.TransferResult{}, err
	} else if len(ws) > 0 {
		return p.result(ws[0], r), nil
	}
	perms, err := p.restrictions(ctx, c, op)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	if !perms.Withdrawals {
		return linkvault.TransferResult{}, rejected(linkvault.BrokerBinance, op, "insufficient_scope")
	}
	pl, err := p.plan(ctx, c, op, r)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	if pl.coin.Free.LessThan(pl.gross) {
		return linkvault.TransferResult{}, rejected(linkvault.BrokerBinance, op, "insufficient_funds")
	}
	params := url.Values{
		"coin": {r.Symbol}, "network": {pl.network.Network}, "address": {r.ToAddress},
		"amount": {pl.gross.String()}, "withdrawOrderId": {orderID},
	}
	if r.AddressTag != "" {
		params.Set("addressTag", r.AddressTag)
	}
	id, err := decoded(p.http, op, parseBinanceWithdrawID)(
		p.signed(ctx, op, http.MethodPost, "/sapi/v1/capital/withdraw/apply", params, c))
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	res := linkvault.TransferResult{
		TransferID: id, ClientTransactionID: r.ClientTransactionID, Status: linkvault.TransferPending, StatusDetail: "processing",
		Direction: linkvault.TransferWithdrawal, Symbol: r.Symbol, Network: r.Network, Amount: r.Amount, Fee: pl.network.Fee,
		FeeCurrency: r.Symbol, ToAddress: r.ToAddress, AddressTag: r.AddressTag, CreatedAt: p.http.now().UTC(),
	}
	// The withdrawal exists now; failing to read it back must not report a failure.
	if ws, err := p.withdrawals(ctx, c, op, url.Values{"idList": {id}}); err == nil && len(ws) > 0 {
		return p.result(ws[0], r), nil
	} else if err != nil {
		p.http.log.WarnContext(ctx, "withdrawal read-back failed", "error", err)
	}
	return res, nil
}

func (p *Binance) result(w binanceWithdrawal, r linkvault.TransferRequest) linkvault.TransferResult {
	res := w.result()
	res.ClientTransactionID = r.ClientTransactionID
	res.Network = firstNonEmpty(res.Network, r.Network)
	return res
}

// withdrawals: GET /sapi/v1/capital/withdraw/history (bnDocsWithdrawHist; UID weight
// 18000, so it is called only for transfers).
func (p *Binance) withdrawals(ctx context.Context, c linkvault.Credential, op string, q url.Values) ([]binanceWithdrawal, error) {
	return decoded(p.http, op, parseBinanceWithdrawals)(
		p.signed(ctx, op, http.MethodGet, "/sapi/v1/capital/withdraw/history", q, c))
}

// GetTransfer reads one withdrawal by Binance id (idList).
func (p *Binance) GetTransfer(ctx context.Context, c linkvault.Credential, ref linkvault.TransferRef) (linkvault.TransferResult, error) {
	const op = "get_transfer"
	if ref.TransferID == "" || strings.Contains(ref.TransferID, ",") {
		return linkvault.TransferResult{}, rejected(linkvault.BrokerBinance, op, "invalid_request")
	}
	ws, err := p.withdrawals(ctx, c, op, url.Values{"idList": {ref.TransferID}})
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	for _, w := range ws {
		if w.ID == ref.TransferID {
			return w.result(), nil
		}
	}
	return linkvault.TransferResult{}, rejected(linkvault.BrokerBinance, op, "not_found")
}

// Transfers merges withdrawal and deposit history (bnDocsWithdrawHist,
// bnDocsDepositHist; the last 90 days unless Since is later), newest first. The cursor
// is "<withdrawal offset>:<deposit offset>".
func (p *Binance) Transfers(ctx context.Context, c linkvault.Credential, q linkvault.TransferQuery) (linkvault.TransferPage, error) {
	const op = "transfers"
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	wOff, dOff := 0, 0
	if q.Cursor != "" {
		a, b, ok := strings.Cut(q.Cursor, ":")
		var e1, e2 error
		wOff, e1 = strconv.Atoi(a)
		dOff, e2 = strconv.Atoi(b)
		if !ok || e1 != nil || e2 != nil || wOff < 0 || dOff < 0 || wOff > 1_000_000 || dOff > 1_000_000 {
			return linkvault.TransferPage{}, rejected(linkvault.BrokerBinance, op, "invalid_request")
		}
	}
	common := url.Values{"limit": {strconv.Itoa(limit)}}
	if q.Symbol != "" {
		common.Set("coin", q.Symbol)
	}
	if !q.Since.IsZero() {
		common.Set("startTime", strconv.FormatInt(q.Since.UnixMilli(), 10))
	}
	wq, dq := url.Values{}, url.Values{}
	for k, v := range common {
		wq[k], dq[k] = v, v
	}
	wq.Set("offset", strconv.Itoa(wOff))
	dq.Set("offset", strconv.Itoa(dOff))
	ws, err := p.withdrawals(ctx, c, op, wq)
	if err != nil {
		return linkvault.TransferPage{}, err
	}
	ds, err := decoded(p.http, op, parseBinanceDeposits)(
		p.signed(ctx, op, http.MethodGet, "/sapi/v1/capital/deposit/hisrec", dq, c))
	if err != nil {
		return linkvault.TransferPage{}, err
	}
	all := make([]linkvault.TransferResult, 0, len(ws)+len(ds))
	for _, w := range ws {
		all = append(all, w.result())
	}
	all = append(all, ds...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.After(all[j].CreatedAt) })
	page := linkvault.TransferPage{Transfers: all[:min(limit, len(all))]}
	for _, t := range page.Transfers {
		if t.Direction == linkvault.TransferWithdrawal {
			wOff++
		} else {
			dOff++
		}
	}
	if len(all) > limit || len(ws) == limit || len(ds) == limit {
		page.Cursor = strconv.Itoa(wOff) + ":" + strconv.Itoa(dOff)
	}
	return page, nil
}

// DepositAddress: GET /sapi/v1/capital/deposit/address?coin=&network= (bnDocsDepositAddr).
// The answer does not name its network, so without one in the request the coin's
// default network is looked up first (bnDocsAllCoins isDefault) and asked for.
func (p *Binance) DepositAddress(ctx context.Context, c linkvault.Credential, r linkvault.DepositAddressRequest) (linkvault.DepositAddress, error) {
	const op = "deposit_address"
	if r.Symbol == "" {
		return linkvault.DepositAddress{}, rejected(linkvault.BrokerBinance, op, "invalid_request")
	}
	network := r.Network
	if network == "" {
		coins, err := p.coins(ctx, c, op)
		if err != nil {
			return linkvault.DepositAddress{}, err
		}
		for _, coin := range coins {
			for _, n := range coin.Networks {
				if coin.Coin == r.Symbol && n.Default {
					network = binanceNetworkNames.canonical(n.Network)
				}
			}
		}
	}
	code := binanceNetworkNames.exchange(network)
	if code == "" {
		return linkvault.DepositAddress{}, rejected(linkvault.BrokerBinance, op, "invalid_network")
	}
	a, err := decoded(p.http, op, parseBinanceDepositAddress)(
		p.signed(ctx, op, http.MethodGet, "/sapi/v1/capital/deposit/address", url.Values{"coin": {r.Symbol}, "network": {code}}, c))
	if err != nil {
		return linkvault.DepositAddress{}, err
	}
	return linkvault.DepositAddress{Symbol: r.Symbol, Network: network, Address: a.Address, Tag: a.Tag}, nil
}

// AccountHolder: Binance's API exposes the account's UID (bnDocsAccount) and no
// personal details; exchange/verify gets the account number only.
func (p *Binance) AccountHolder(ctx context.Context, c linkvault.Credential) (linkvault.AccountHolder, error) {
	acct, err := p.account(ctx, c, "account_holder")
	if err != nil {
		return linkvault.AccountHolder{}, err
	}
	return linkvault.AccountHolder{AccountNumber: firstNonEmpty(acct.UID, c.Subject)}, nil
}

// Rates returns Binance's last prices as rates of one USDT (Binance quotes in USDT and
// lists no USD pairs; a request for another base gets USDT rates, Base says so).
func (p *Binance) Rates(ctx context.Context, base string) (linkvault.Rates, error) {
	if _, err := checkRatesBase(linkvault.BrokerBinance, base); err != nil {
		return linkvault.Rates{}, err
	}
	r, err := p.usdtPrices(ctx, "rates")
	return copyRates(r), err
}

// --- wire parsing ---

func parseBinanceRestrictions(b []byte) (binanceKeyPermissions, error) {
	var w map[string]json.RawMessage
	if err := json.Unmarshal(b, &w); err != nil {
		return binanceKeyPermissions{}, err
	}
	flag := func(name string) bool {
		var v bool
		_ = json.Unmarshal(w[name], &v)
		return v
	}
	if _, ok := w["enableReading"]; !ok {
		return binanceKeyPermissions{}, errors.New("restrictions without enableReading")
	}
	k := binanceKeyPermissions{Reading: flag("enableReading"), Withdrawals: flag("enableWithdrawals"), IPRestrict: flag("ipRestrict")}
	for _, f := range binanceForbidden {
		if flag(f.field) {
			k.Extra = append(k.Extra, f.label)
		}
	}
	return k, nil
}

// binanceBalance is one asset of the spot account: free, and locked in open orders.
type binanceBalance struct {
	Asset        string
	Free, Locked linkvault.Decimal
}

// total is what the account owns of the asset.
func (b binanceBalance) total() linkvault.Decimal { return b.Free.Add(b.Locked) }

type binanceAccount struct {
	UID      string
	Balances []binanceBalance
}

func parseBinanceAccount(b []byte) (binanceAccount, error) {
	var w struct {
		UID      json.RawMessage `json:"uid"`
		Balances []struct {
			Asset  string `json:"asset"`
			Free   string `json:"free"`
			Locked string `json:"locked"`
		} `json:"balances"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return binanceAccount{}, err
	}
	acct := binanceAccount{UID: rawID(w.UID)}
	for _, bal := range w.Balances {
		if bal.Asset == "" {
			return binanceAccount{}, errors.New("balance without asset")
		}
		free, err := amount(bal.Free)
		if err != nil {
			return binanceAccount{}, err
		}
		locked, err := optAmount(bal.Locked)
		if err != nil {
			return binanceAccount{}, err
		}
		acct.Balances = append(acct.Balances, binanceBalance{Asset: bal.Asset, Free: free, Locked: locked})
	}
	return acct, nil
}

// rawID reads an id that may be a JSON string or number.
func rawID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// parseBinancePrices reads [{symbol, price}] into rates of one USDT: X costs `price`
// USDT in XUSDT, so one USDT buys 1/price X.
func parseBinancePrices(b []byte) (linkvault.Rates, error) {
	var w []struct {
		Symbol string `json:"symbol"`
		Price  string `json:"price"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return linkvault.Rates{}, err
	}
	r := linkvault.Rates{Base: "USDT", Rates: map[string]linkvault.Decimal{}}
	for _, t := range w {
		base, ok := strings.CutSuffix(t.Symbol, "USDT")
		if !ok || base == "" {
			continue
		}
		v, err := amount(t.Price)
		if err != nil || v.Sign() <= 0 {
			continue
		}
		if inv, ok := linkvault.DecimalFromInt(1).Quo(v, ratePlaces); ok && inv.Sign() > 0 {
			r.Rates[base] = inv
		}
	}
	return r, nil
}

type binanceNetwork struct {
	Network, Name, AddressRegex, MemoRegex string
	Default, WithdrawEnable, TagRequired   bool
	Fee, Min, Max, Multiple                linkvault.Decimal
}

type binanceCoin struct {
	Coin, Name string
	Fiat       bool
	Free       linkvault.Decimal
	Networks   []binanceNetwork
}

func parseBinanceCoins(b []byte) ([]binanceCoin, error) {
	var w []struct {
		Coin         string `json:"coin"`
		Name         string `json:"name"`
		Free         string `json:"free"`
		IsLegalMoney bool   `json:"isLegalMoney"`
		NetworkList  []struct {
			Network                 string `json:"network"`
			Name                    string `json:"name"`
			IsDefault               bool   `json:"isDefault"`
			WithdrawEnable          bool   `json:"withdrawEnable"`
			WithdrawFee             string `json:"withdrawFee"`
			WithdrawMin             string `json:"withdrawMin"`
			WithdrawMax             string `json:"withdrawMax"`
			WithdrawIntegerMultiple string `json:"withdrawIntegerMultiple"`
			AddressRegex            string `json:"addressRegex"`
			MemoRegex               string `json:"memoRegex"`
			WithdrawTag             bool   `json:"withdrawTag"`
			SameAddress             bool   `json:"sameAddress"`
		} `json:"networkList"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]binanceCoin, 0, len(w))
	for _, c := range w {
		if c.Coin == "" {
			return nil, errors.New("coin without name")
		}
		free, err := optAmount(c.Free)
		if err != nil {
			return nil, err
		}
		coin := binanceCoin{Coin: c.Coin, Name: c.Name, Fiat: c.IsLegalMoney, Free: free}
		for _, n := range c.NetworkList {
			var vals [4]linkvault.Decimal
			for i, s := range []string{n.WithdrawFee, n.WithdrawMin, n.WithdrawMax, n.WithdrawIntegerMultiple} {
				if vals[i], err = optAmount(s); err != nil {
					return nil, err
				}
			}
			coin.Networks = append(coin.Networks, binanceNetwork{
				Network: n.Network, Name: n.Name, Default: n.IsDefault, WithdrawEnable: n.WithdrawEnable,
				Fee: vals[0], Min: vals[1], Max: vals[2], Multiple: vals[3], AddressRegex: n.AddressRegex, MemoRegex: n.MemoRegex,
				// withdrawTag says whether a memo is required; older answers only carry
				// sameAddress for the same fact.
				TagRequired: n.WithdrawTag || n.SameAddress,
			})
		}
		out = append(out, coin)
	}
	return out, nil
}

func parseBinanceWithdrawID(b []byte) (string, error) {
	var w struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return "", err
	}
	id := rawID(w.ID)
	if id == "" {
		return "", errors.New("withdrawal without id")
	}
	return id, nil
}

// binanceHistoryWire is what an entry of the withdrawal history (bnDocsWithdrawHist)
// and of the deposit history (bnDocsDepositHist) share.
type binanceHistoryWire struct {
	ID         json.RawMessage `json:"id"`
	Amount     string          `json:"amount"`
	Coin       string          `json:"coin"`
	Network    string          `json:"network"`
	Status     int             `json:"status"`
	Address    string          `json:"address"`
	AddressTag string          `json:"addressTag"`
	TxID       string          `json:"txId"`
}

// transfer reads the shared fields as a transfer in direction dir, whose history names
// its status numbers in details (binanceStatuses sorts those).
func (h binanceHistoryWire) transfer(dir linkvault.TransferDirection, details map[int]string) (linkvault.TransferResult, error) {
	amt, err := amount(h.Amount)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	status, detail := binanceStatuses.state(details[h.Status])
	return linkvault.TransferResult{
		TransferID: rawID(h.ID), Status: status, StatusDetail: detail, Direction: dir, Symbol: h.Coin,
		Network: binanceNetworkNames.canonical(h.Network), Amount: amt, ToAddress: h.Address, AddressTag: h.AddressTag, Hash: h.TxID,
	}, nil
}

// The status numbers of the withdrawal history (bnDocsWithdrawHist) and of the deposit
// history (bnDocsDepositHist), by the detail a transfer reports.
var (
	binanceWithdrawDetails = map[int]string{0: "email_sent", 1: "cancelled", 2: "awaiting_approval", 3: "rejected", 4: "processing", 5: "failure", 6: "completed"}
	binanceDepositDetails  = map[int]string{0: "pending", 1: "success", 2: "rejected", 6: "credited", 7: "wrong_deposit", 8: "waiting_user_confirm"}
)

// binanceStatuses sorts the details of both histories: success (deposited) and credited
// (deposited, not yet withdrawable) count as succeeded. A number the reference does not
// list has no detail and is pending, "unknown".
var binanceStatuses = transferStatuses{
	succeeded: []string{"completed", "success", "credited"},
	failed:    []string{"cancelled", "rejected", "failure", "wrong_deposit"},
	pending:   []string{"email_sent", "awaiting_approval", "processing", "pending", "waiting_user_confirm"},
}

// binanceWithdrawal is an entry of the withdrawal history.
type binanceWithdrawal struct {
	ID          string
	Amount, Fee linkvault.Decimal        // applied for (the fee included), and the fee
	transfer    linkvault.TransferResult // the entry as a transfer, but for its Amount
}

// result: the history's amount is what was applied for, fee included; the destination
// receives amount minus transactionFee.
func (w binanceWithdrawal) result() linkvault.TransferResult {
	res := w.transfer
	res.Amount = w.Amount.Sub(w.Fee)
	if res.Amount.Sign() < 0 {
		res.Amount = linkvault.Decimal{}
	}
	return res
}

// binanceTime parses the "2019-10-12 11:12:02" UTC times of the wallet history.
func binanceTime(s string) time.Time {
	t, _ := time.Parse(time.DateTime, s)
	return t
}

func parseBinanceWithdrawals(b []byte) ([]binanceWithdrawal, error) {
	var w []struct {
		binanceHistoryWire
		TransactionFee string `json:"transactionFee"`
		ApplyTime      string `json:"applyTime"`
		CompleteTime   string `json:"completeTime"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]binanceWithdrawal, 0, len(w))
	for _, x := range w {
		t, err := x.transfer(linkvault.TransferWithdrawal, binanceWithdrawDetails)
		if err != nil {
			return nil, err
		}
		if t.Fee, err = optAmount(x.TransactionFee); err != nil {
			return nil, err
		}
		if t.TransferID == "" {
			return nil, errors.New("withdrawal without id")
		}
		t.FeeCurrency, t.CreatedAt, t.UpdatedAt = t.Symbol, binanceTime(x.ApplyTime), binanceTime(x.CompleteTime)
		out = append(out, binanceWithdrawal{ID: t.TransferID, Amount: t.Amount, Fee: t.Fee, transfer: t})
	}
	return out, nil
}

func parseBinanceDeposits(b []byte) ([]linkvault.TransferResult, error) {
	var w []struct {
		binanceHistoryWire
		InsertTime int64 `json:"insertTime"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]linkvault.TransferResult, 0, len(w))
	for _, d := range w {
		t, err := d.transfer(linkvault.TransferDeposit, binanceDepositDetails)
		if err != nil {
			return nil, err
		}
		t.CreatedAt = time.UnixMilli(d.InsertTime).UTC()
		out = append(out, t)
	}
	return out, nil
}

type binanceDepositAddress struct{ Address, Tag string }

func parseBinanceDepositAddress(b []byte) (binanceDepositAddress, error) {
	var w struct {
		Address string `json:"address"`
		Tag     string `json:"tag"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return binanceDepositAddress{}, err
	}
	if w.Address == "" {
		return binanceDepositAddress{}, errors.New("no address")
	}
	return binanceDepositAddress(w), nil
}

// binanceCodes names the error codes of bnDocsErrors that decide what to do, with the
// kind each means. Unlisted codes are refusals of the request.
var binanceCodes = map[int]struct {
	name string
	kind linkvault.ProviderErrorKind
}{
	-2015: {"invalid_api_key", linkvault.ProviderReauth},   // invalid API-key, IP, or permissions for action
	-2014: {"invalid_api_key", linkvault.ProviderReauth},   // API-key format invalid
	-2008: {"invalid_api_key", linkvault.ProviderReauth},   // invalid Api-Key ID
	-1022: {"invalid_signature", linkvault.ProviderReauth}, // the secret no longer matches the key
	-1002: {"unauthorized", linkvault.ProviderReauth},
	-1021: {"timestamp_out_of_window", linkvault.ProviderTransient},
	-1003: {"too_many_requests", linkvault.ProviderTransient},
	-1000: {"server_error", linkvault.ProviderTransient}, // unknown error
	-1001: {"server_error", linkvault.ProviderTransient}, // disconnected
	-1004: {"server_error", linkvault.ProviderTransient}, // server busy
	-1006: {"server_error", linkvault.ProviderTransient}, // unexpected response: status unknown
	-1007: {"timeout", linkvault.ProviderTransient},      // timeout: status unknown
	-1008: {"server_error", linkvault.ProviderTransient}, // server overloaded
	-1016: {"server_error", linkvault.ProviderTransient}, // service shutting down
}

// binanceErrors reads {"code": <int>, "msg": ...} (bnDocsErrors). 403 is the WAF and
// 418 an IP ban (bnDocsHTTPCodes): both mean "wait", never a dead key.
func binanceErrors(status int, _ http.Header, body []byte) (string, linkvault.ProviderErrorKind) {
	switch status {
	case http.StatusForbidden:
		return "waf_limit", linkvault.ProviderTransient
	case 418:
		return "ip_banned", linkvault.ProviderTransient
	}
	n, ok := binanceNumericCode(body)
	if !ok {
		return "", 0
	}
	if c, ok := binanceCodes[n]; ok {
		if status >= 500 || status == http.StatusTooManyRequests {
			return c.name, linkvault.ProviderTransient
		}
		return c.name, c.kind
	}
	if status >= 400 && status < 500 {
		return "invalid_request", linkvault.ProviderRejected
	}
	return "", 0
}

func binanceNumericCode(b []byte) (int, bool) {
	var w struct {
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal(b, &w) != nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(w.Code))
	return n, err == nil
}
