package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// The Coinbase App API reference this adapter follows (Coinbase Developer Platform docs):
//
//   - cbDocsOAuth     https://docs.cdp.coinbase.com/coinbase-app/oauth2-integration/overview
//   - cbDocs2FA       https://docs.cdp.coinbase.com/coinbase-app/oauth2-integration/2fa
//   - cbDocsVersion   https://docs.cdp.coinbase.com/coinbase-app/api-architecture/versioning
//   - cbDocsErrors    https://docs.cloud.coinbase.com/coinbase-app/api-architecture/error-messages
//   - cbDocsPaging    https://docs.cloud.coinbase.com/sign-in-with-coinbase/docs/pagination
//   - cbDocsUser      https://docs.cloud.coinbase.com/sign-in-with-coinbase/docs/api-users
//   - cbDocsAccounts  https://docs.cdp.coinbase.com/coinbase-app/track-apis/accounts
//   - cbDocsTxs       https://docs.cdp.coinbase.com/coinbase-app/track-apis/transactions
//   - cbDocsSend      https://docs.cdp.coinbase.com/coinbase-app/transfer-apis/send-crypto
//   - cbDocsAddresses https://docs.cdp.coinbase.com/coinbase-app/transfer-apis/onchain-addresses
//   - cbDocsRates     https://docs.cdp.coinbase.com/coinbase-app/track-apis/exchange-rates

// CoinbaseProduction are Coinbase's real endpoints (see cbDocsOAuth). Scopes are chosen
// per connection by coinbaseScopes.
var CoinbaseProduction = Config{
	AuthURL:    "https://login.coinbase.com/oauth2/auth",
	TokenURL:   "https://login.coinbase.com/oauth2/token",
	RevokeURL:  "https://login.coinbase.com/oauth2/revoke",
	APIBaseURL: "https://api.coinbase.com",
}

// coinbaseScopes are the OAuth scopes of a connection: read connections get no scope
// that moves money. Sources: each endpoint's "Scopes" section (cbDocsUser,
// cbDocsAccounts, cbDocsTxs, cbDocsSend, cbDocsAddresses); offline_access gives the
// refresh token.
func coinbaseScopes(p linkvault.Permission) []string {
	s := []string{"wallet:user:read", "wallet:user:email", "wallet:accounts:read", "wallet:transactions:read",
		"wallet:addresses:read", "offline_access"}
	if p.Allows(linkvault.PermissionWrite) {
		s = append(s, "wallet:transactions:send", "wallet:addresses:create")
	}
	return s
}

// coinbaseAPIVersion is sent as CB-VERSION on every API call (cbDocsVersion: a fixed
// implementation date, never today's).
const coinbaseAPIVersion = "2024-09-01"

// maxPages bounds how many pages of one list an adapter follows.
const maxPages = 20

// coinbaseNetworkNames: Coinbase's `network` values (send argument, address and
// transaction resources) are lowercase chain names; these are the ones that differ
// from linkvault's codes.
var coinbaseNetworkNames = networkNames{"avacchain": "avalanche", "ripple": "xrp"}

// coinbaseDefaultNetworks lists, per asset, the networks Coinbase sends it on, the
// default first (the send API takes `network`, defaulting to the currency's default
// network; cbDocsSend). The App API publishes no per-asset network list, so this is
// configuration, and the fees are quoted by Coinbase only when the send happens.
var coinbaseDefaultNetworks = map[string][]string{
	"BTC": {"bitcoin"}, "ETH": {"ethereum", "base", "arbitrum", "optimism"}, "USDC": {"ethereum", "base", "solana", "polygon"},
	"SOL": {"solana"}, "USDT": {"ethereum", "solana"}, "LTC": {"litecoin"}, "DOGE": {"dogecoin"}, "POL": {"polygon"},
}

// Coinbase is the adapter for Coinbase, and for the sandbox exchange, which speaks the
// same protocol: OAuth2 code flow with PKCE, rotating refresh tokens, the App v2 API.
type Coinbase struct {
	oauthAdapter
	networks map[string][]string
}

var _ linkvault.OAuthProvider = (*Coinbase)(nil)

// NewCoinbase builds the Coinbase adapter; empty endpoints take CoinbaseProduction.
func NewCoinbase(cfg Config, d Deps) (*Coinbase, error) {
	cfg = cfg.withDefaults(CoinbaseProduction)
	return newCoinbaseProtocol(linkvault.Integration{
		Type: linkvault.BrokerCoinbase, Name: "Coinbase", AuthKind: linkvault.AuthOAuth, BrandColor: "#0052FF",
		SupportsRefresh: true, SupportsRevocation: true, SupportsTransfers: true,
	}, cfg, d)
}

// NewSandbox builds the sandbox adapter. The sandbox exchange speaks the Coinbase
// protocol with short-lived access tokens; it has no production URLs, so every endpoint
// must be configured (internal/exchangesim/simprovider points it at a simulator).
func NewSandbox(cfg Config, d Deps) (*Coinbase, error) {
	cfg = cfg.withDefaults(Config{})
	return newCoinbaseProtocol(linkvault.Integration{
		Type: linkvault.BrokerSandbox, Name: "Sandbox", AuthKind: linkvault.AuthOAuth, BrandColor: "#6B46C1",
		SupportsRefresh: true, SupportsRevocation: true, SupportsTransfers: true,
	}, cfg, d)
}

func newCoinbaseProtocol(in linkvault.Integration, cfg Config, d Deps) (*Coinbase, error) {
	in.Networks = coinbaseNetworkNames.list(coinbaseDefaultNetworks)
	base, err := newOAuthAdapter(in, cfg, d, oauthStyle{scopes: coinbaseScopes}, nil)
	if err != nil {
		return nil, err
	}
	p := &Coinbase{oauthAdapter: base, networks: coinbaseDefaultNetworks}
	p.whoami, p.walletOf = p.userID, p.walletID
	return p, nil
}

// Refresh rotates the refresh token; the new credential holds the new refresh token.
func (p *Coinbase) Refresh(ctx context.Context, c linkvault.Credential) (linkvault.Credential, error) {
	return p.oauth.refresh(ctx, c)
}

// authorize sets the bearer token, CB-VERSION (cbDocsVersion) and, for a send the
// user confirmed with a second factor, CB-2FA-TOKEN (cbDocs2FA).
func (p *Coinbase) authorize(c linkvault.Credential, twoFactor linkvault.Secret) func(*http.Request) {
	return func(r *http.Request) {
		if !c.AccessToken.IsZero() {
			bearer(c.AccessToken)(r)
		}
		r.Header.Set("CB-VERSION", coinbaseAPIVersion)
		if !twoFactor.IsZero() {
			r.Header.Set("CB-2FA-TOKEN", twoFactor.Reveal())
		}
	}
}

func (p *Coinbase) get(ctx context.Context, op, path string, c linkvault.Credential) (*apiResponse, error) {
	return p.http.call(ctx, op, http.MethodGet, p.apiBase+path, nil, p.authorize(c, linkvault.Secret{}), coinbaseErrors)
}

// user: GET /v2/user (cbDocsUser, "Show Current User"; wallet:user:read adds country,
// wallet:user:email the email).
func (p *Coinbase) user(ctx context.Context, c linkvault.Credential, op string) (coinbaseUser, error) {
	return decoded(p.http, op, parseCoinbaseUser)(p.get(ctx, op, "/v2/user", c))
}

// userID is the id of the credential's user (user).
func (p *Coinbase) userID(ctx context.Context, c linkvault.Credential, op string) (string, error) {
	u, err := p.user(ctx, c, op)
	return u.ID, err
}

// wallets lists every account: GET /v2/accounts?limit=100, following next_uri
// (cbDocsAccounts "List Accounts"; cursor pagination per cbDocsPaging).
func (p *Coinbase) wallets(ctx context.Context, c linkvault.Credential, op string) ([]coinbaseAccount, error) {
	var all []coinbaseAccount
	path := "/v2/accounts?limit=100"
	for range maxPages {
		resp, err := p.get(ctx, op, path, c)
		if err != nil {
			return nil, err
		}
		page, err := decode(p.http, op, resp, parseCoinbaseAccounts)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextURI == "" {
			return all, nil
		}
		// Only relative next pages under /v2/accounts are followed: an absolute URL
		// would send the bearer token elsewhere.
		if !strings.HasPrefix(page.NextURI, "/v2/accounts?") {
			return nil, invalidResponse(p.http.broker, op, resp.Status)
		}
		path = page.NextURI
	}
	return all, nil
}

// usdRates returns Coinbase's rates based on USD, cached briefly (see Rates).
func (p *Coinbase) usdRates(ctx context.Context, op string) (linkvault.Rates, error) {
	return p.rates.get(ctx, "USD", func(ctx context.Context) (linkvault.Rates, error) { return p.fetchRates(ctx, op, "USD") })
}

// fetchRates: GET /v2/exchange-rates?currency=<base> (cbDocsRates; no authentication).
// The rates carry no timestamp, so AsOf is the answer's Date header.
func (p *Coinbase) fetchRates(ctx context.Context, op, base string) (linkvault.Rates, error) {
	resp, err := p.http.call(ctx, op, http.MethodGet, p.apiBase+"/v2/exchange-rates?"+url.Values{"currency": {base}}.Encode(),
		nil, p.authorize(linkvault.Credential{}, linkvault.Secret{}), coinbaseErrors)
	if err != nil {
		return linkvault.Rates{}, err
	}
	r, err := decode(p.http, op, resp, parseCoinbaseRates)
	if err != nil {
		return linkvault.Rates{}, err
	}
	r.Source, r.AsOf = p.integration.Type, serverTime(resp.Header, p.http.now())
	return r, nil
}

// Rates returns Coinbase's exchange rates for one unit of base.
func (p *Coinbase) Rates(ctx context.Context, base string) (linkvault.Rates, error) {
	base, err := checkRatesBase(p.integration.Type, base)
	if err != nil {
		return linkvault.Rates{}, err
	}
	r, err := p.rates.get(ctx, base, func(ctx context.Context) (linkvault.Rates, error) { return p.fetchRates(ctx, "rates", base) })
	return copyRates(r), err
}

// valued returns the wallets and the USD rates that value them. A rates failure does
// not fail the call: positions are then reported without a value.
func (p *Coinbase) valued(ctx context.Context, c linkvault.Credential, op string) ([]coinbaseAccount, linkvault.Rates, error) {
	ws, err := p.wallets(ctx, c, op)
	if err != nil {
		return nil, linkvault.Rates{}, err
	}
	rates, err := p.usdRates(ctx, op)
	if err != nil {
		p.http.log.WarnContext(ctx, "exchange rates unavailable; positions unvalued", "error", err)
	}
	return ws, rates, nil
}

// Accounts reports the connection as one account: the user's wallets valued in USD.
func (p *Coinbase) Accounts(ctx context.Context, c linkvault.Credential) ([]linkvault.Account, error) {
	const op = "accounts"
	id, err := p.subject(ctx, c, op)
	if err != nil {
		return nil, err
	}
	ws, rates, err := p.valued(ctx, c, op)
	if err != nil {
		return nil, err
	}
	return portfolioAccount(id, p.integration.Name, ws, func(w coinbaseAccount) (linkvault.Decimal, string, linkvault.Decimal) {
		return w.Balance.Mul(p.rates.usdPrice(rates, w.Currency)), w.Currency, w.Balance
	}), nil
}

// Holdings lists the crypto wallets with a balance, valued at Coinbase's rates.
func (p *Coinbase) Holdings(ctx context.Context, c linkvault.Credential) (linkvault.Holdings, error) {
	ws, rates, err := p.valued(ctx, c, "holdings")
	if err != nil {
		return linkvault.Holdings{}, err
	}
	return portfolioHoldings(c.Subject, p.integration.Name, ws, func(w coinbaseAccount) (linkvault.Position, bool) {
		if w.Fiat || w.Balance.Sign() <= 0 {
			return linkvault.Position{}, false
		}
		return position(w.Currency, w.CurrencyName, w.Balance, p.rates.usdPrice(rates, w.Currency)), true
	}), nil
}

// Balances lists the fiat accounts (USD with zero when there is none).
func (p *Coinbase) Balances(ctx context.Context, c linkvault.Credential) ([]linkvault.Balance, error) {
	return fiatBalances(coinbaseAccount.fiatCash)(p.wallets(ctx, c, "balances"))
}

// fiatCash is a fiat account's currency and balance (false: not a fiat account).
func (w coinbaseAccount) fiatCash() (string, linkvault.Decimal, bool) {
	return w.Currency, w.Balance, w.Fiat
}

// assetNetworks describes the networks of one wallet's currency.
func (p *Coinbase) assetNetworks(w coinbaseAccount) []linkvault.AssetNetwork {
	names := p.networks[w.Currency]
	out := make([]linkvault.AssetNetwork, 0, len(names))
	for i, n := range names {
		an := coinbaseNetworkNames.asset(n, i == 0)
		// The currency's address_regex (cbDocsAccounts) describes the default
		// network's addresses; it is only trusted when that is the only network.
		if len(names) == 1 {
			an.AddressPattern = w.AddressRegex
		}
		out = append(out, an)
	}
	return out
}

// TransferOptions lists the crypto wallets with a balance and the networks each can
// be sent on. Coinbase quotes network fees only when a send happens, so FeeKnown is
// false throughout.
func (p *Coinbase) TransferOptions(ctx context.Context, c linkvault.Credential) ([]linkvault.TransferAsset, error) {
	return transferAssets(p.transferAsset)(p.wallets(ctx, c, "transfer_options"))
}

// transferAsset is a crypto wallet with the networks its currency is sent on (false:
// a fiat account or a vault).
func (p *Coinbase) transferAsset(w coinbaseAccount) (linkvault.TransferAsset, bool) {
	if w.Fiat || w.Type != "wallet" {
		return linkvault.TransferAsset{}, false
	}
	return linkvault.TransferAsset{Symbol: w.Currency, Name: w.CurrencyName, AccountID: w.ID, Available: w.Balance, Networks: p.assetNetworks(w)}, true
}

// walletFor picks the wallet to send from: FromAccountID when it names a wallet of the
// symbol, otherwise the (crypto) wallet of the symbol.
func (p *Coinbase) walletFor(ctx context.Context, c linkvault.Credential, op, accountID, symbol string) (coinbaseAccount, error) {
	ws, err := p.wallets(ctx, c, op)
	if err != nil {
		return coinbaseAccount{}, err
	}
	for _, w := range ws {
		if accountID != "" && w.ID == accountID && w.Currency == symbol {
			return w, nil
		}
	}
	for _, w := range ws {
		if accountID == "" && w.Currency == symbol && !w.Fiat {
			return w, nil
		}
	}
	return coinbaseAccount{}, rejected(p.http.broker, op, "insufficient_funds")
}

// walletID is the id of the symbol's crypto wallet (walletFor).
func (p *Coinbase) walletID(ctx context.Context, c linkvault.Credential, op, symbol string) (string, error) {
	w, err := p.walletFor(ctx, c, op, "", symbol)
	return w.ID, err
}

// checkSend applies what Coinbase publishes before anything is sent: the network must
// be one the asset goes out on, the address must match the currency's address_regex.
func (p *Coinbase) checkSend(op string, w coinbaseAccount, r linkvault.TransferRequest) (network string, err error) {
	for _, n := range p.networks[w.Currency] {
		if coinbaseNetworkNames.canonical(n) == r.Network {
			network = n
		}
	}
	if network == "" {
		return "", rejected(p.http.broker, op, "invalid_network")
	}
	if len(p.networks[w.Currency]) == 1 && !matches(w.AddressRegex, r.ToAddress) {
		return "", rejected(p.http.broker, op, "invalid_address")
	}
	return network, nil
}

// source checks a transfer request (checkTransferRequest; execute: as one about to be
// sent), picks the wallet it sends from (walletFor) and checks it can go out on the
// requested network to the address (checkSend), whose Coinbase name it returns.
func (p *Coinbase) source(ctx context.Context, c linkvault.Credential, op string, r linkvault.TransferRequest, execute bool) (coinbaseAccount, string, error) {
	if err := checkTransferRequest(p.http.broker, op, r, execute); err != nil {
		return coinbaseAccount{}, "", err
	}
	w, err := p.walletFor(ctx, c, op, r.FromAccountID, r.Symbol)
	if err != nil {
		return coinbaseAccount{}, "", err
	}
	network, err := p.checkSend(op, w, r)
	return w, network, err
}

// PreviewTransfer checks the transfer against the wallet. Coinbase has no quote step
// for sends (the fee is set when the send happens; cbDocsSend), so the preview says
// FeeKnown false and makes no call beyond reading the wallets.
func (p *Coinbase) PreviewTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferPreview, error) {
	w, _, err := p.source(ctx, c, "preview_transfer", r, false)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	return linkvault.TransferPreview{
		AccountID: w.ID, Symbol: w.Currency, Network: r.Network, ToAddress: r.ToAddress, AddressTag: r.AddressTag,
		Amount: r.Amount, FeeCurrency: w.Currency, Total: r.Amount, InsufficientFund: w.Balance.LessThan(r.Amount),
	}, nil
}

// ExecuteTransfer sends crypto: POST /v2/accounts/:account_id/transactions with
// type=send (cbDocsSend). idem, derived from r.ClientTransactionID as the UUIDv4 the
// page recommends, makes a repeated request return the first transaction. When the
// user has 2FA on sends Coinbase answers two_factor_required (402 per cbDocs2FA, 400
// in cbDocsErrors) and the same request is repeated with CB-2FA-TOKEN.
func (p *Coinbase) ExecuteTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferResult, error) {
	const op = "execute_transfer"
	w, network, err := p.source(ctx, c, op, r, true)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	if w.Balance.LessThan(r.Amount) {
		return linkvault.TransferResult{}, rejected(p.http.broker, op, "insufficient_funds")
	}
	body := coinbaseSendRequest{
		Type: "send", To: r.ToAddress, Amount: r.Amount.String(), Currency: w.Currency, Network: network,
		Idem: uuidFromKey(r.ClientTransactionID), DestinationTag: r.AddressTag,
	}
	resp, err := p.http.call(ctx, op, http.MethodPost, p.apiBase+"/v2/accounts/"+url.PathEscape(w.ID)+"/transactions",
		body, p.authorize(c, r.MFACode), coinbaseErrors)
	if err != nil {
		return linkvault.TransferResult{}, mfaOutcome(err, r.MFACode)
	}
	tx, err := decode(p.http, op, resp, parseCoinbaseTransaction)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	res := tx.result(w.ID)
	res.ClientTransactionID = r.ClientTransactionID
	res.Network = firstNonEmpty(res.Network, r.Network)
	res.ToAddress = firstNonEmpty(res.ToAddress, r.ToAddress)
	return res, nil
}

// GetTransfer: GET /v2/accounts/:account_id/transactions/:transaction_id (cbDocsTxs).
func (p *Coinbase) GetTransfer(ctx context.Context, c linkvault.Credential, ref linkvault.TransferRef) (linkvault.TransferResult, error) {
	const op = "get_transfer"
	accountID, err := p.transferAccount(ctx, c, op, ref)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	tx, err := decoded(p.http, op, parseCoinbaseTransaction)(
		p.get(ctx, op, "/v2/accounts/"+url.PathEscape(accountID)+"/transactions/"+url.PathEscape(ref.TransferID), c))
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	return tx.result(accountID), nil
}

// Transfers lists crypto sends and receives: GET /v2/accounts/:account_id/transactions
// for each crypto wallet, newest first (cbDocsTxs, cbDocsPaging). The cursor is
// "<wallet index>:<starting_after>".
func (p *Coinbase) Transfers(ctx context.Context, c linkvault.Credential, q linkvault.TransferQuery) (linkvault.TransferPage, error) {
	const op = "transfers"
	limit := min(max(q.Limit, 1), 100)
	if q.Limit <= 0 {
		limit = 25
	}
	walletIdx, after, err := parseCoinbaseCursor(q.Cursor)
	if err != nil {
		return linkvault.TransferPage{}, rejected(p.http.broker, op, "invalid_request")
	}
	ws, err := p.wallets(ctx, c, op)
	if err != nil {
		return linkvault.TransferPage{}, err
	}
	var crypto []coinbaseAccount
	for _, w := range ws {
		if !w.Fiat && (q.Symbol == "" || w.Currency == q.Symbol) {
			crypto = append(crypto, w)
		}
	}
	page := linkvault.TransferPage{Transfers: []linkvault.TransferResult{}}
	for ; walletIdx < len(crypto) && len(page.Transfers) < limit; walletIdx, after = walletIdx+1, "" {
		w := crypto[walletIdx]
		v := url.Values{"limit": {strconv.Itoa(limit - len(page.Transfers))}}
		if after != "" {
			v.Set("starting_after", after)
		}
		list, err := decoded(p.http, op, parseCoinbaseTransactions)(
			p.get(ctx, op, "/v2/accounts/"+url.PathEscape(w.ID)+"/transactions?"+v.Encode(), c))
		if err != nil {
			return linkvault.TransferPage{}, err
		}
		done := list.NextURI == ""
		for _, tx := range list.Items {
			if !q.Since.IsZero() && tx.CreatedAt.Before(q.Since) {
				done = true
				break
			}
			if tx.Direction != "" {
				page.Transfers = append(page.Transfers, tx.result(w.ID))
			}
			after = tx.ID
		}
		if !done && len(list.Items) > 0 {
			// This wallet has more: the next page resumes after its last item.
			page.Cursor = strconv.Itoa(walletIdx) + ":" + after
			return page, nil
		}
	}
	if walletIdx < len(crypto) {
		page.Cursor = strconv.Itoa(walletIdx) + ":"
	}
	return page, nil
}

func parseCoinbaseCursor(s string) (int, string, error) {
	if s == "" {
		return 0, "", nil
	}
	i, after, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(i)
	if !ok || err != nil || n < 0 || n > 10000 || len(after) > 128 {
		return 0, "", errors.New("bad cursor")
	}
	return n, after, nil
}

// DepositAddress returns an address of the symbol's wallet on the network: GET
// /v2/accounts/:account_id/addresses, or POST the same path to create one when the
// wallet has none on that network (cbDocsAddresses; creation takes no network, so a
// new address is on the currency's default network).
func (p *Coinbase) DepositAddress(ctx context.Context, c linkvault.Credential, r linkvault.DepositAddressRequest) (linkvault.DepositAddress, error) {
	const op = "deposit_address"
	if r.Symbol == "" {
		return linkvault.DepositAddress{}, rejected(p.http.broker, op, "invalid_request")
	}
	w, err := p.walletFor(ctx, c, op, "", r.Symbol)
	if err != nil {
		return linkvault.DepositAddress{}, rejected(p.http.broker, op, "invalid_symbol")
	}
	want := r.Network
	if want == "" && len(p.networks[w.Currency]) > 0 {
		want = coinbaseNetworkNames.canonical(p.networks[w.Currency][0])
	}
	base := "/v2/accounts/" + url.PathEscape(w.ID) + "/addresses"
	list, err := decoded(p.http, op, parseCoinbaseAddresses)(p.get(ctx, op, base, c))
	if err != nil {
		return linkvault.DepositAddress{}, err
	}
	for _, a := range list {
		if coinbaseNetworkNames.canonical(a.Network) == want {
			return linkvault.DepositAddress{Symbol: w.Currency, Network: want, Address: a.Address, Tag: a.DestinationTag}, nil
		}
	}
	created, err := decoded(p.http, op, parseCoinbaseAddress)(
		p.http.call(ctx, op, http.MethodPost, p.apiBase+base, map[string]string{}, p.authorize(c, linkvault.Secret{}), coinbaseErrors))
	if err != nil {
		return linkvault.DepositAddress{}, err
	}
	if got := coinbaseNetworkNames.canonical(created.Network); got != want {
		return linkvault.DepositAddress{}, rejected(p.http.broker, op, "invalid_network")
	}
	return linkvault.DepositAddress{Symbol: w.Currency, Network: want, Address: created.Address, Tag: created.DestinationTag}, nil
}

// AccountHolder reads GET /v2/user: the public name, country (wallet:user:read) and
// email (wallet:user:email). Coinbase gives one name field, so FirstName/LastName stay
// empty rather than guessed.
func (p *Coinbase) AccountHolder(ctx context.Context, c linkvault.Credential) (linkvault.AccountHolder, error) {
	u, err := p.user(ctx, c, "account_holder")
	if err != nil {
		return linkvault.AccountHolder{}, err
	}
	return linkvault.AccountHolder{AccountNumber: u.ID, FullName: u.Name, Email: u.Email, CountryCode: u.Country}, nil
}

// mfaOutcome words an MFA answer to a request that already carried a code as a refused
// code, so the caller can tell "ask the user" from "the code was wrong".
func mfaOutcome(err error, sent linkvault.Secret) error {
	var pe *linkvault.ProviderError
	if errors.As(err, &pe) && pe.Kind == linkvault.ProviderMFARequired {
		pe.Code = "mfa_required"
		if !sent.IsZero() {
			pe.Code = "mfa_invalid"
		}
	}
	return err
}

// --- wire shapes and parsing (pure functions, fuzzed) ---

type coinbaseMoney struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type coinbaseUser struct{ ID, Name, Email, Country string }

func parseCoinbaseUser(b []byte) (coinbaseUser, error) {
	var w struct {
		Data struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Email   string `json:"email"`
			Country struct {
				Code string `json:"code"`
			} `json:"country"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return coinbaseUser{}, err
	}
	if w.Data.ID == "" {
		return coinbaseUser{}, errors.New("user without id")
	}
	return coinbaseUser{ID: w.Data.ID, Name: w.Data.Name, Email: w.Data.Email, Country: w.Data.Country.Code}, nil
}

// coinbaseAccount is one Coinbase account (a wallet, fiat account or vault).
type coinbaseAccount struct {
	ID, Type, Currency, CurrencyName, AddressRegex string
	Fiat                                           bool
	Balance                                        linkvault.Decimal
}

// coinbaseAccountWire is an account resource: id, type,
// currency{code,name,type,address_regex}, balance{amount,currency} (cbDocsAccounts).
type coinbaseAccountWire struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Currency struct {
		Code         string `json:"code"`
		Name         string `json:"name"`
		Type         string `json:"type"`
		AddressRegex string `json:"address_regex"`
	} `json:"currency"`
	Balance coinbaseMoney `json:"balance"`
}

func (a coinbaseAccountWire) parse() (coinbaseAccount, error) {
	if a.ID == "" || a.Currency.Code == "" {
		return coinbaseAccount{}, errors.New("account without id or currency")
	}
	bal, err := amount(a.Balance.Amount)
	if err != nil {
		return coinbaseAccount{}, err
	}
	return coinbaseAccount{
		ID: a.ID, Type: a.Type, Currency: a.Currency.Code, CurrencyName: a.Currency.Name, AddressRegex: a.Currency.AddressRegex,
		Fiat: a.Type == "fiat" || a.Currency.Type == "fiat", Balance: bal,
	}, nil
}

// parseCoinbaseAccounts parses a page of GET /v2/accounts.
func parseCoinbaseAccounts(b []byte) (coinbasePage[coinbaseAccount], error) {
	return parseCoinbasePage[coinbaseAccountWire](b, "accounts", scanCoinbaseAccounts)
}

// coinbasePage is one page of a cursor-paginated list (cbDocsPaging): its items and
// pagination.next_uri ("" on the last page).
type coinbasePage[T any] struct {
	Items   []T
	NextURI string
}

// coinbaseWire is the wire form of one resource, which parse checks and converts.
type coinbaseWire[T any] interface {
	parse() (T, error)
}

// parseCoinbasePage parses {"pagination": {"next_uri"}, "data": [resource]}; what
// names the list in errors. scan, when not nil, is a targeted decoder tried before
// encoding/json (coinbase_accounts.go).
func parseCoinbasePage[W coinbaseWire[T], T any](b []byte, what string, scan func([]byte, *coinbaseListWire[W]) bool) (coinbasePage[T], error) {
	var w coinbaseListWire[W]
	if scan == nil || !scan(b, &w) {
		w = coinbaseListWire[W]{}
		if err := json.Unmarshal(b, &w); err != nil {
			return coinbasePage[T]{}, err
		}
	}
	if w.Data == nil {
		return coinbasePage[T]{}, errors.New(what + " without data")
	}
	var page coinbasePage[T]
	if w.Pagination.NextURI != nil {
		page.NextURI = *w.Pagination.NextURI
	}
	for _, d := range w.Data {
		item, err := d.parse()
		if err != nil {
			return coinbasePage[T]{}, err
		}
		page.Items = append(page.Items, item)
	}
	return page, nil
}

// coinbaseListWire is the wire form of a page: {"pagination": {"next_uri"}, "data": [resource]}.
type coinbaseListWire[W any] struct {
	Pagination struct {
		NextURI *string `json:"next_uri"`
	} `json:"pagination"`
	Data []W `json:"data"`
}

// parseCoinbaseData parses {"data": resource}.
func parseCoinbaseData[W coinbaseWire[T], T any](b []byte) (T, error) {
	var w struct {
		Data W `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		var zero T
		return zero, err
	}
	return w.Data.parse()
}

// parseCoinbaseRates parses GET /v2/exchange-rates: {"data":{"currency","rates":{X:"..."}}}.
func parseCoinbaseRates(b []byte) (linkvault.Rates, error) {
	var w struct {
		Data struct {
			Currency string            `json:"currency"`
			Rates    map[string]string `json:"rates"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return linkvault.Rates{}, err
	}
	if w.Data.Currency == "" || len(w.Data.Rates) == 0 {
		return linkvault.Rates{}, errors.New("rates without currency")
	}
	r := linkvault.Rates{Base: w.Data.Currency, Rates: make(map[string]linkvault.Decimal, len(w.Data.Rates))}
	for c, v := range w.Data.Rates {
		d, err := amount(v)
		if err != nil || d.Sign() < 0 {
			continue // one odd entry does not spoil the others
		}
		r.Rates[c] = d
	}
	return r, nil
}

// coinbaseSendRequest is the body of Send Money (cbDocsSend "Arguments"). Amounts are
// decimal strings.
type coinbaseSendRequest struct {
	Type           string `json:"type"`
	To             string `json:"to"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Network        string `json:"network,omitempty"`
	Idem           string `json:"idem"`
	DestinationTag string `json:"destination_tag,omitempty"`
}

// coinbaseTransaction is a transaction resource (cbDocsTxs).
type coinbaseTransaction struct {
	ID, Status, Network, Hash, To, Idem string
	Direction                           linkvault.TransferDirection
	Currency                            string
	Amount, Fee                         linkvault.Decimal
	FeeCurrency                         string
	CreatedAt, UpdatedAt                time.Time
}

func (tx coinbaseTransaction) result(accountID string) linkvault.TransferResult {
	status, detail := coinbaseStatuses.state(tx.Status)
	return linkvault.TransferResult{
		TransferID: tx.ID, AccountID: accountID, Status: status, StatusDetail: detail, Direction: tx.Direction,
		Symbol: tx.Currency, Network: coinbaseNetworkNames.canonical(tx.Network), Amount: tx.Amount.Abs(),
		Fee: tx.Fee, FeeCurrency: tx.FeeCurrency, ToAddress: tx.To, Hash: tx.Hash, CreatedAt: tx.CreatedAt, UpdatedAt: tx.UpdatedAt,
	}
}

// coinbaseStatuses are the transaction statuses of cbDocsTxs.
var coinbaseStatuses = transferStatuses{
	succeeded: []string{"completed"},
	failed:    []string{"failed", "expired", "canceled"},
	pending:   []string{"pending", "waiting_for_signature", "waiting_for_clearing"},
}

type coinbaseTxWire struct {
	ID        string        `json:"id"`
	Type      string        `json:"type"`
	Status    string        `json:"status"`
	Idem      string        `json:"idem"`
	Amount    coinbaseMoney `json:"amount"`
	CreatedAt string        `json:"created_at"`
	UpdatedAt string        `json:"updated_at"`
	Network   struct {
		Name string         `json:"network_name"`
		Hash string         `json:"hash"`
		Fee  *coinbaseMoney `json:"transaction_fee"`
	} `json:"network"`
	To struct {
		Address string `json:"address"`
	} `json:"to"`
}

func (w coinbaseTxWire) parse() (coinbaseTransaction, error) {
	amt, dir, err := wireTransaction(w.ID, w.Amount.Amount, w.Type, "send", "receive")
	if err != nil {
		return coinbaseTransaction{}, err
	}
	tx := coinbaseTransaction{ID: w.ID, Status: w.Status, Network: w.Network.Name, Hash: w.Network.Hash, To: w.To.Address,
		Idem: w.Idem, Currency: w.Amount.Currency, Amount: amt, Direction: dir}
	if w.Network.Fee != nil {
		if tx.Fee, err = optAmount(w.Network.Fee.Amount); err != nil {
			return coinbaseTransaction{}, err
		}
		tx.FeeCurrency = w.Network.Fee.Currency
	}
	tx.CreatedAt, _ = time.Parse(time.RFC3339, w.CreatedAt)
	tx.UpdatedAt, _ = time.Parse(time.RFC3339, w.UpdatedAt)
	return tx, nil
}

// parseCoinbaseTransaction parses {"data": transaction}.
func parseCoinbaseTransaction(b []byte) (coinbaseTransaction, error) {
	return parseCoinbaseData[coinbaseTxWire](b)
}

// parseCoinbaseTransactions parses a page of List Transactions.
func parseCoinbaseTransactions(b []byte) (coinbasePage[coinbaseTransaction], error) {
	return parseCoinbasePage[coinbaseTxWire](b, "transactions", nil)
}

type coinbaseAddress struct{ Address, Network, DestinationTag string }

type coinbaseAddressWire struct {
	ID             string `json:"id"`
	Address        string `json:"address"`
	Network        string `json:"network"`
	DestinationTag string `json:"destination_tag"`
}

func (w coinbaseAddressWire) parse() (coinbaseAddress, error) {
	if w.Address == "" {
		return coinbaseAddress{}, errors.New("address without address")
	}
	return coinbaseAddress{Address: w.Address, Network: w.Network, DestinationTag: w.DestinationTag}, nil
}

// parseCoinbaseAddress parses {"data": address} (Create Address, cbDocsAddresses).
func parseCoinbaseAddress(b []byte) (coinbaseAddress, error) {
	return parseCoinbaseData[coinbaseAddressWire](b)
}

// parseCoinbaseAddresses parses List Addresses (first page: a wallet's addresses).
func parseCoinbaseAddresses(b []byte) ([]coinbaseAddress, error) {
	var w struct {
		Data []coinbaseAddressWire `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]coinbaseAddress, 0, len(w.Data))
	for _, d := range w.Data {
		a, err := d.parse()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// coinbaseErrors reads {"errors":[{"id": ...}]} (cbDocsErrors) or an OAuth {"error": ...}.
// two_factor_required is a request for a second factor, whatever the status (402 in
// cbDocs2FA, 400 in the error table).
func coinbaseErrors(_ int, _ http.Header, body []byte) (string, linkvault.ProviderErrorKind) {
	code := coinbaseErrorCode(body)
	if code == "two_factor_required" {
		return code, linkvault.ProviderMFARequired
	}
	return code, 0
}

func coinbaseErrorCode(b []byte) string {
	var w struct {
		Errors []struct {
			ID string `json:"id"`
		} `json:"errors"`
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &w) != nil {
		return ""
	}
	if len(w.Errors) > 0 {
		return w.Errors[0].ID
	}
	return w.Error
}

// TransferAssets lists the assets this adapter sends, each with the canonical codes of
// its networks, default first (the managed-transfer catalog; account.AssetLister).
func (p *Coinbase) TransferAssets() map[string][]string {
	out := make(map[string][]string, len(p.networks))
	for sym, nets := range p.networks {
		out[sym] = append([]string(nil), nets...)
	}
	return out
}
