package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// The Uphold API reference this adapter follows is the `uphold/docs` repository
// (rendered at https://uphold.com/en/developer/api/documentation/), section by section:
//
//   - upDocsAuth         https://uphold.com/en/developer/api/documentation/#web-application-flow
//   - upDocsPermissions  https://uphold.com/en/developer/api/documentation/#permissions
//   - upDocsErrors       https://uphold.com/en/developer/api/documentation/#errors
//   - upDocsPagination   https://uphold.com/en/developer/api/documentation/#pagination
//   - upDocsRateLimits   https://uphold.com/en/developer/api/documentation/#rate-limits
//   - upDocsUser         https://uphold.com/en/developer/api/documentation/#get-user
//   - upDocsCards        https://uphold.com/en/developer/api/documentation/#list-cards
//   - upDocsCardAddress  https://uphold.com/en/developer/api/documentation/#create-card-address
//   - upDocsListAddress  https://uphold.com/en/developer/api/documentation/#list-card-addresses
//   - upDocsCreateTx     https://uphold.com/en/developer/api/documentation/#create-amp-commit-a-transaction
//   - upDocsCardTxs      https://uphold.com/en/developer/api/documentation/#list-card-transactions
//   - upDocsUserTxs      https://uphold.com/en/developer/api/documentation/#list-user-transactions
//   - upDocsLimitErrors  https://uphold.com/en/developer/api/documentation/#transaction-limit-errors
//   - upDocsTickers      https://uphold.com/en/developer/api/documentation/#get-tickers-for-currency
//   - upDocsTransactionO https://uphold.com/en/developer/api/documentation/#transaction-object
//   - upSDKRevoke        https://github.com/uphold/uphold-sdk-javascript/blob/master/src/core/services/oauth-client.js
//     (the REST reference documents no token revocation; Uphold's official JavaScript
//     SDK revokes with POST /oauth2/revoke, the access token as bearer and as `token`)

// UpholdProduction are Uphold's real endpoints. The authorization URL embeds the client
// id (https://wallet.uphold.com/authorize/<client id>, upDocsAuth) and is completed by
// NewUphold.
var UpholdProduction = Config{
	TokenURL:   "https://api.uphold.com/oauth2/token",
	RevokeURL:  "https://api.uphold.com/oauth2/revoke",
	APIBaseURL: "https://api.uphold.com",
}

const upholdAuthorizeBase = "https://wallet.uphold.com/authorize/"

// upholdScopes are the scopes of a connection (upDocsPermissions): reading the user,
// cards and transactions; write connections may also withdraw to crypto addresses and
// create card addresses (Create Card Address requires cards:write).
func upholdScopes(p linkvault.Permission) []string {
	s := []string{"user:read", "cards:read", "transactions:read"}
	if p.Allows(linkvault.PermissionWrite) {
		s = append(s, "transactions:withdraw", "cards:write")
	}
	return s
}

// upholdNetworkNames: Uphold names networks by chain (Create Card Address lists
// bitcoin, bitcoin-cash, bitcoin-gold, dash, ethereum, interledger, litecoin,
// xrp-ledger); these differ from linkvault's codes.
var upholdNetworkNames = networkNames{"xrp-ledger": "xrp"}

// upholdDefaultNetworks is the network a currency's withdrawals use when its card shows
// no address yet (the card's address map names its networks once it has one).
var upholdDefaultNetworks = map[string][]string{
	"BTC": {"bitcoin"}, "ETH": {"ethereum"}, "LTC": {"litecoin"}, "XRP": {"xrp-ledger"}, "BCH": {"bitcoin-cash"},
	"USDC": {"ethereum"}, "USDT": {"ethereum"}, "SOL": {"solana"},
}

// upholdPageSize is the largest page Uphold serves (upDocsPagination: 50).
const upholdPageSize = 50

// Uphold is the adapter for Uphold: OAuth2 code flow, tokens without expiry and without
// refresh token, which die when the user revokes access or changes password (found by
// Validate).
type Uphold struct {
	oauthAdapter
}

var _ linkvault.OAuthProvider = (*Uphold)(nil)

// NewUphold builds the Uphold adapter; empty endpoints take UpholdProduction.
func NewUphold(cfg Config, d Deps) (*Uphold, error) {
	prod := UpholdProduction
	prod.AuthURL = upholdAuthorizeBase + url.PathEscape(cfg.ClientID)
	cfg = cfg.withDefaults(prod)
	base, err := newOAuthAdapter(linkvault.Integration{
		Type: linkvault.BrokerUphold, Name: "Uphold", AuthKind: linkvault.AuthOAuth, BrandColor: "#49CC68",
		SupportsRefresh: false, SupportsRevocation: true, SupportsTransfers: true, Networks: upholdNetworkNames.list(upholdDefaultNetworks),
	}, cfg, d, oauthStyle{scopes: upholdScopes, noPKCE: true, revokeWithBearer: true}, func(c *caller) {
		c.gate = true // upDocsRateLimits: the limit is per client IP, so a 429 concerns every user
	})
	if err != nil {
		return nil, err
	}
	p := &Uphold{oauthAdapter: base}
	p.whoami, p.walletOf = p.userID, p.cardID
	return p, nil
}

// Refresh cannot renew an Uphold token (there is no refresh token); it validates the
// credential and returns it unchanged while it works, and a re-authentication error
// once the provider refuses it.
func (p *Uphold) Refresh(ctx context.Context, c linkvault.Credential) (linkvault.Credential, error) {
	if _, err := p.me(ctx, c, "refresh"); err != nil {
		return linkvault.Credential{}, err
	}
	return c, nil
}

func (p *Uphold) get(ctx context.Context, op, path string, c linkvault.Credential, header map[string]string) (*apiResponse, error) {
	return p.http.call(ctx, op, http.MethodGet, p.apiBase+path, nil, func(r *http.Request) {
		bearer(c.AccessToken)(r)
		for k, v := range header {
			r.Header.Set(k, v)
		}
	}, upholdErrors)
}

// me: GET /v0/me (upDocsUser; scope user:read).
func (p *Uphold) me(ctx context.Context, c linkvault.Credential, op string) (upholdUser, error) {
	return decoded(p.http, op, parseUpholdUser)(p.get(ctx, op, "/v0/me", c, nil))
}

// userID is the id of the credential's user (me).
func (p *Uphold) userID(ctx context.Context, c linkvault.Credential, op string) (string, error) {
	me, err := p.me(ctx, c, op)
	return me.ID, err
}

// cards lists every card: GET /v0/me/cards, 50 at a time with Range: items=a-b,
// following Content-Range (upDocsCards, upDocsPagination).
func (p *Uphold) cards(ctx context.Context, c linkvault.Credential, op string) ([]upholdCard, error) {
	var all []upholdCard
	for start := 0; ; start += upholdPageSize {
		resp, err := p.get(ctx, op, "/v0/me/cards", c, map[string]string{"Range": itemsRange(start, upholdPageSize)})
		if err != nil {
			return nil, err
		}
		page, err := decode(p.http, op, resp, parseUpholdCards)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		total, ok := contentRangeTotal(resp.Header.Get("Content-Range"))
		if !ok || len(page) == 0 || start+len(page) >= total || start/upholdPageSize >= maxPages {
			return all, nil
		}
	}
}

// itemsRange is the Range header of upDocsPagination ("items=0-49").
func itemsRange(start, n int) string {
	return "items=" + strconv.Itoa(start) + "-" + strconv.Itoa(start+n-1)
}

// contentRangeTotal reads the total of "items 0-49/123".
func contentRangeTotal(v string) (int, bool) {
	_, total, ok := strings.Cut(v, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(total))
	return n, err == nil && n >= 0
}

// Accounts reports the connection as one account valued in USD (the cards' normalized
// USD balances).
func (p *Uphold) Accounts(ctx context.Context, c linkvault.Credential) ([]linkvault.Account, error) {
	const op = "accounts"
	id, err := p.subject(ctx, c, op)
	if err != nil {
		return nil, err
	}
	cards, err := p.cards(ctx, c, op)
	if err != nil {
		return nil, err
	}
	return portfolioAccount(id, "Uphold", cards, func(card upholdCard) (linkvault.Decimal, string, linkvault.Decimal) {
		return card.USDBalance, card.Currency, card.Balance
	}), nil
}

// Holdings lists the crypto cards with a balance, valued with their normalized USD balance.
func (p *Uphold) Holdings(ctx context.Context, c linkvault.Credential) (linkvault.Holdings, error) {
	cards, err := p.cards(ctx, c, "holdings")
	if err != nil {
		return linkvault.Holdings{}, err
	}
	return portfolioHoldings(c.Subject, "Uphold", cards, func(card upholdCard) (linkvault.Position, bool) {
		if isFiat(card.Currency) || card.Balance.Sign() <= 0 {
			return linkvault.Position{}, false
		}
		price, _ := card.USDBalance.Quo(card.Balance, ratePlaces)
		return position(card.Currency, card.Label, card.Balance, price), true
	}), nil
}

// Balances lists the fiat cards (USD with zero when there is none).
func (p *Uphold) Balances(ctx context.Context, c linkvault.Credential) ([]linkvault.Balance, error) {
	return fiatBalances(upholdCard.fiatCash)(p.cards(ctx, c, "balances"))
}

// fiatCash is a fiat card's currency and available balance (false: a crypto card).
func (card upholdCard) fiatCash() (string, linkvault.Decimal, bool) {
	return card.Currency, card.Available, isFiat(card.Currency)
}

// cardNetworks are the networks a card's currency moves on: those of its addresses
// (the card object's address map), else the currency's default.
func cardNetworks(card upholdCard) []string {
	if len(card.Networks) > 0 {
		return card.Networks
	}
	return upholdDefaultNetworks[card.Currency]
}

// TransferOptions lists the crypto cards with an available balance and their
// networks. Uphold quotes fees per transaction only (see PreviewTransfer).
func (p *Uphold) TransferOptions(ctx context.Context, c linkvault.Credential) ([]linkvault.TransferAsset, error) {
	return transferAssets(upholdCard.transferAsset)(p.cards(ctx, c, "transfer_options"))
}

// transferAsset is a crypto card with its networks (false: a fiat card).
func (card upholdCard) transferAsset() (linkvault.TransferAsset, bool) {
	a := linkvault.TransferAsset{Symbol: card.Currency, Name: card.Label, AccountID: card.ID, Available: card.Available}
	for i, n := range cardNetworks(card) {
		a.Networks = append(a.Networks, upholdNetworkNames.asset(n, i == 0))
	}
	return a, !isFiat(card.Currency)
}

// cardFor picks the card to send from: FromAccountID when it is a card of the symbol,
// else the card of the symbol with the largest available balance.
func (p *Uphold) cardFor(ctx context.Context, c linkvault.Credential, op, accountID, symbol string) (upholdCard, error) {
	cards, err := p.cards(ctx, c, op)
	if err != nil {
		return upholdCard{}, err
	}
	var best *upholdCard
	for i, card := range cards {
		if card.Currency != symbol || accountID != "" && card.ID != accountID {
			continue
		}
		if best == nil || best.Available.LessThan(card.Available) {
			best = &cards[i]
		}
	}
	if best == nil {
		return upholdCard{}, rejected(linkvault.BrokerUphold, op, "insufficient_funds")
	}
	return *best, nil
}

// source checks a transfer request (checkTransferRequest; execute: as one about to be
// sent), picks the card it sends from (cardFor) and checks the card's currency goes out
// on the requested network (checkNetwork).
func (p *Uphold) source(ctx context.Context, c linkvault.Credential, op string, r linkvault.TransferRequest, execute bool) (upholdCard, error) {
	if err := checkTransferRequest(linkvault.BrokerUphold, op, r, execute); err != nil {
		return upholdCard{}, err
	}
	card, err := p.cardFor(ctx, c, op, r.FromAccountID, r.Symbol)
	if err != nil {
		return upholdCard{}, err
	}
	return card, p.checkNetwork(op, card, r)
}

// cardID is the id of the symbol's card with the largest available balance (cardFor).
func (p *Uphold) cardID(ctx context.Context, c linkvault.Credential, op, symbol string) (string, error) {
	card, err := p.cardFor(ctx, c, op, "", symbol)
	return card.ID, err
}

func (p *Uphold) checkNetwork(op string, card upholdCard, r linkvault.TransferRequest) error {
	for _, n := range cardNetworks(card) {
		if upholdNetworkNames.canonical(n) == r.Network {
			if r.AddressTag != "" {
				// upDocsCreateTx documents no destination tag for withdrawals.
				return rejected(linkvault.BrokerUphold, op, "invalid_tag")
			}
			return nil
		}
	}
	return rejected(linkvault.BrokerUphold, op, "invalid_network")
}

// quote creates a transaction without committing it: POST /v0/me/cards/:card/transactions
// with {denomination{amount,currency}, destination, reference} (upDocsCreateTx step 1).
// The answer is a pending transaction holding the fees and the quote's ttl.
func (p *Uphold) quote(ctx context.Context, c linkvault.Credential, op string, card upholdCard, r linkvault.TransferRequest, reference string) (upholdTransaction, error) {
	body := upholdTransactionRequest{Destination: r.ToAddress, Reference: reference}
	body.Denomination.Amount, body.Denomination.Currency = r.Amount.String(), card.Currency
	return decoded(p.http, op, parseUpholdTransaction)(
		p.http.call(ctx, op, http.MethodPost, p.apiBase+"/v0/me/cards/"+url.PathEscape(card.ID)+"/transactions",
			body, bearer(c.AccessToken), upholdErrors))
}

// commit executes a quote: POST /v0/me/cards/:card/transactions/:id/commit (upDocsCreateTx
// step 2). With OTP on, Uphold answers 401 with "OTP-Token: Required" and the request
// is repeated with the code in OTP-Token. A quote past its ttl answers 404.
func (p *Uphold) commit(ctx context.Context, c linkvault.Credential, op, cardID, txID string, otp linkvault.Secret) (upholdTransaction, error) {
	u := p.apiBase + "/v0/me/cards/" + url.PathEscape(cardID) + "/transactions/" + url.PathEscape(txID) + "/commit"
	resp, err := p.http.call(ctx, op, http.MethodPost, u, map[string]string{}, func(r *http.Request) {
		bearer(c.AccessToken)(r)
		if !otp.IsZero() {
			r.Header.Set("OTP-Token", otp.Reveal())
		}
	}, upholdErrors)
	if err != nil {
		var pe *linkvault.ProviderError
		if errors.As(err, &pe) && pe.StatusCode == http.StatusNotFound {
			pe.Code = "quote_expired"
		}
		return upholdTransaction{}, mfaOutcome(err, otp)
	}
	return decode(p.http, op, resp, parseUpholdTransaction)
}

// cardTransactions reads the newest 50 transactions of a card (upDocsCardTxs).
func (p *Uphold) cardTransactions(ctx context.Context, c linkvault.Credential, op, cardID string) ([]upholdTransaction, error) {
	return decoded(p.http, op, parseUpholdTransactions)(
		p.get(ctx, op, "/v0/me/cards/"+url.PathEscape(cardID)+"/transactions", c, map[string]string{"Range": itemsRange(0, upholdPageSize)}))
}

// PreviewTransfer creates a quote (upDocsCreateTx step 1): Uphold's own fees and the
// total debited, valid for the quote's ttl. Its id is the PreviewID ExecuteTransfer
// commits.
func (p *Uphold) PreviewTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferPreview, error) {
	const op = "preview_transfer"
	card, err := p.source(ctx, c, op, r, false)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	ref := ""
	if r.ClientTransactionID != "" {
		ref = uuidFromKey(r.ClientTransactionID)
	}
	tx, err := p.quote(ctx, c, op, card, r, ref)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	if n := upholdNetworkNames.canonical(tx.Network); tx.Network != "" && n != r.Network {
		return linkvault.TransferPreview{}, rejected(linkvault.BrokerUphold, op, "invalid_network")
	}
	return linkvault.TransferPreview{
		PreviewID: tx.ID, AccountID: card.ID, Symbol: card.Currency, Network: r.Network, ToAddress: r.ToAddress,
		Amount: r.Amount, Fee: tx.Fee, FeeCurrency: card.Currency, FeeKnown: true, Total: tx.Total,
		ExpiresAt: tx.ExpiresAt, InsufficientFund: card.Available.LessThan(tx.Total),
	}, nil
}

// ExecuteTransfer sends at most once per r.ClientTransactionID. Uphold has no
// idempotency key, so the key goes into the transaction's `reference` (an external id
// the API keeps; upDocsTransactionO) and is looked up among the card's latest
// transactions before anything is created or committed: a transfer already committed
// is returned, a quote still pending is committed, and only otherwise is the quote
// named by r.PreviewID committed or a new one created and committed.
func (p *Uphold) ExecuteTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferResult, error) {
	const op = "execute_transfer"
	card, err := p.source(ctx, c, op, r, true)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	ref := uuidFromKey(r.ClientTransactionID)
	recent, err := p.cardTransactions(ctx, c, op, card.ID)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	txID := r.PreviewID
	for _, tx := range recent {
		if tx.Reference != ref && (r.PreviewID == "" || tx.ID != r.PreviewID) {
			continue
		}
		if tx.Status != "pending" {
			return p.result(tx, card.ID, r), nil
		}
		txID = tx.ID
		break
	}
	if txID != "" {
		tx, err := p.commit(ctx, c, op, card.ID, txID, r.MFACode)
		if err == nil {
			return p.result(tx, card.ID, r), nil
		}
		var pe *linkvault.ProviderError
		if !errors.As(err, &pe) || pe.Code != "quote_expired" {
			return linkvault.TransferResult{}, err
		}
		// The quote lapsed (Uphold quotes live seconds): quote again below.
	}
	tx, err := p.quote(ctx, c, op, card, r, ref)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	if tx, err = p.commit(ctx, c, op, card.ID, tx.ID, r.MFACode); err != nil {
		return linkvault.TransferResult{}, err
	}
	return p.result(tx, card.ID, r), nil
}

func (p *Uphold) result(tx upholdTransaction, cardID string, r linkvault.TransferRequest) linkvault.TransferResult {
	res := tx.result(cardID)
	res.ClientTransactionID = r.ClientTransactionID
	res.Network = firstNonEmpty(res.Network, r.Network)
	res.ToAddress = firstNonEmpty(res.ToAddress, r.ToAddress)
	return res
}

// GetTransfer finds the transfer among its card's latest transactions (Uphold
// documents no private single-transaction read; upDocsCardTxs).
func (p *Uphold) GetTransfer(ctx context.Context, c linkvault.Credential, ref linkvault.TransferRef) (linkvault.TransferResult, error) {
	const op = "get_transfer"
	cardID, err := p.transferAccount(ctx, c, op, ref)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	txs, err := p.cardTransactions(ctx, c, op, cardID)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	for _, tx := range txs {
		if tx.ID == ref.TransferID {
			return tx.result(cardID), nil
		}
	}
	return linkvault.TransferResult{}, rejected(linkvault.BrokerUphold, op, "not_found")
}

// Transfers lists crypto withdrawals and deposits: GET /v0/me/transactions with Range
// (upDocsUserTxs, newest first). The cursor is the next item index.
func (p *Uphold) Transfers(ctx context.Context, c linkvault.Credential, q linkvault.TransferQuery) (linkvault.TransferPage, error) {
	const op = "transfers"
	limit := q.Limit
	if limit <= 0 || limit > upholdPageSize {
		limit = upholdPageSize
	}
	start := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 || n > 1_000_000 {
			return linkvault.TransferPage{}, rejected(linkvault.BrokerUphold, op, "invalid_request")
		}
		start = n
	}
	resp, err := p.get(ctx, op, "/v0/me/transactions", c, map[string]string{"Range": itemsRange(start, limit)})
	if err != nil {
		return linkvault.TransferPage{}, err
	}
	txs, err := decode(p.http, op, resp, parseUpholdTransactions)
	if err != nil {
		return linkvault.TransferPage{}, err
	}
	page := linkvault.TransferPage{Transfers: []linkvault.TransferResult{}}
	stop := false
	for _, tx := range txs {
		if !q.Since.IsZero() && tx.CreatedAt.Before(q.Since) {
			stop = true
			break
		}
		if tx.Direction == "" || q.Symbol != "" && tx.Currency != q.Symbol {
			continue
		}
		page.Transfers = append(page.Transfers, tx.result(tx.CardID))
	}
	if total, ok := contentRangeTotal(resp.Header.Get("Content-Range")); ok && !stop && start+len(txs) < total && len(txs) > 0 {
		page.Cursor = strconv.Itoa(start + len(txs))
	}
	return page, nil
}

// DepositAddress returns the card's address on the network: GET
// /v0/me/cards/:card/addresses (upDocsListAddress), else POST it with {network}
// (upDocsCardAddress; needs cards:write, so write connections only).
func (p *Uphold) DepositAddress(ctx context.Context, c linkvault.Credential, r linkvault.DepositAddressRequest) (linkvault.DepositAddress, error) {
	const op = "deposit_address"
	if r.Symbol == "" {
		return linkvault.DepositAddress{}, rejected(linkvault.BrokerUphold, op, "invalid_request")
	}
	card, err := p.cardFor(ctx, c, op, "", r.Symbol)
	if err != nil {
		return linkvault.DepositAddress{}, rejected(linkvault.BrokerUphold, op, "invalid_symbol")
	}
	nets := cardNetworks(card)
	want := r.Network
	if want == "" && len(nets) > 0 {
		want = upholdNetworkNames.canonical(nets[0])
	}
	name := upholdNetworkNames.exchange(want)
	if name == "" {
		return linkvault.DepositAddress{}, rejected(linkvault.BrokerUphold, op, "invalid_network")
	}
	base := "/v0/me/cards/" + url.PathEscape(card.ID) + "/addresses"
	list, err := decoded(p.http, op, parseUpholdAddresses)(p.get(ctx, op, base, c, nil))
	if err != nil {
		return linkvault.DepositAddress{}, err
	}
	for _, a := range list {
		if a.Network == name {
			return linkvault.DepositAddress{Symbol: card.Currency, Network: want, Address: a.Address, Tag: a.Tag}, nil
		}
	}
	a, err := decoded(p.http, op, parseUpholdCreatedAddress)(
		p.http.call(ctx, op, http.MethodPost, p.apiBase+base, map[string]string{"network": name}, bearer(c.AccessToken), upholdErrors))
	if err != nil {
		return linkvault.DepositAddress{}, err
	}
	return linkvault.DepositAddress{Symbol: card.Currency, Network: want, Address: a.Address, Tag: a.Tag}, nil
}

// AccountHolder reads GET /v0/me (upDocsUser): names, email, country, state, address
// and birthdate.
func (p *Uphold) AccountHolder(ctx context.Context, c linkvault.Credential) (linkvault.AccountHolder, error) {
	me, err := p.me(ctx, c, "account_holder")
	if err != nil {
		return linkvault.AccountHolder{}, err
	}
	return me.holder(), nil
}

// Rates: GET /v0/ticker/:currency (upDocsTickers; public). Each pair XBASE quotes one X
// in base (ask/bid); one base buys 1/mid X. The answer has no timestamp: AsOf is its
// Date header.
func (p *Uphold) Rates(ctx context.Context, base string) (linkvault.Rates, error) {
	base, err := checkRatesBase(linkvault.BrokerUphold, base)
	if err != nil {
		return linkvault.Rates{}, err
	}
	r, err := p.rates.get(ctx, base, func(ctx context.Context) (linkvault.Rates, error) {
		resp, err := p.http.call(ctx, "rates", http.MethodGet, p.apiBase+"/v0/ticker/"+url.PathEscape(base), nil, nil, upholdErrors)
		if err != nil {
			return linkvault.Rates{}, err
		}
		r, err := decode(p.http, "rates", resp, func(b []byte) (linkvault.Rates, error) { return parseUpholdTicker(b, base) })
		if err != nil {
			return linkvault.Rates{}, err
		}
		r.Source, r.AsOf = linkvault.BrokerUphold, serverTime(resp.Header, p.http.now())
		return r, nil
	})
	return copyRates(r), err
}

// --- wire shapes and parsing ---

type upholdUser struct {
	ID, FirstName, LastName, Name, Email, Country, State, Birthdate string
	City, Line1, Line2, ZipCode                                     string
}

func (u upholdUser) holder() linkvault.AccountHolder {
	addr := strings.TrimSpace(strings.Join(nonEmpty(u.Line1, u.Line2), ", "))
	return linkvault.AccountHolder{
		AccountNumber: u.ID, FullName: u.Name, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email,
		CountryCode: u.Country, State: u.State, City: u.City, PostalCode: u.ZipCode, Address: addr, DateOfBirth: u.Birthdate,
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

var birthdatePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func parseUpholdUser(b []byte) (upholdUser, error) {
	var w struct {
		ID        string `json:"id"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		Name      string `json:"name"`
		Email     string `json:"email"`
		Country   string `json:"country"`
		State     string `json:"state"`
		Birthdate string `json:"birthdate"`
		Address   struct {
			City    string `json:"city"`
			Line1   string `json:"line1"`
			Line2   string `json:"line2"`
			ZipCode string `json:"zipCode"`
		} `json:"address"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return upholdUser{}, err
	}
	if w.ID == "" {
		return upholdUser{}, errors.New("user without id")
	}
	if !birthdatePattern.MatchString(w.Birthdate) {
		w.Birthdate = ""
	}
	return upholdUser{ID: w.ID, FirstName: w.FirstName, LastName: w.LastName, Name: w.Name, Email: w.Email,
		Country: w.Country, State: w.State, Birthdate: w.Birthdate,
		City: w.Address.City, Line1: w.Address.Line1, Line2: w.Address.Line2, ZipCode: w.Address.ZipCode}, nil
}

type upholdCard struct {
	ID, Label, Currency string
	Balance, Available  linkvault.Decimal
	USDBalance          linkvault.Decimal
	Networks            []string // from the card's address map, sorted
}

// parseUpholdCards parses List Cards (upDocsCards): id, label, currency, available,
// balance (decimal strings), normalized[{balance, currency: USD}], address{network: ...}.
func parseUpholdCards(b []byte) ([]upholdCard, error) {
	var w []struct {
		ID         string            `json:"id"`
		Label      string            `json:"label"`
		Currency   string            `json:"currency"`
		Available  string            `json:"available"`
		Balance    string            `json:"balance"`
		Address    map[string]string `json:"address"`
		Normalized []struct {
			Balance  string `json:"balance"`
			Currency string `json:"currency"`
		} `json:"normalized"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]upholdCard, 0, len(w))
	for _, c := range w {
		if c.ID == "" || c.Currency == "" {
			return nil, errors.New("card without id or currency")
		}
		bal, err := amount(c.Balance)
		if err != nil {
			return nil, err
		}
		avail := bal
		if c.Available != "" {
			if avail, err = amount(c.Available); err != nil {
				return nil, err
			}
		}
		card := upholdCard{ID: c.ID, Label: c.Label, Currency: c.Currency, Balance: bal, Available: avail}
		for _, n := range c.Normalized {
			if n.Currency == "USD" {
				if card.USDBalance, err = amount(n.Balance); err != nil {
					return nil, err
				}
			}
		}
		for n := range c.Address {
			if upholdNetworkNames.canonical(n) != "" {
				card.Networks = append(card.Networks, n)
			}
		}
		slices.Sort(card.Networks)
		out = append(out, card)
	}
	return out, nil
}

// upholdTransactionRequest is the body of Create Transaction (upDocsCreateTx).
type upholdTransactionRequest struct {
	Denomination struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"denomination"`
	Destination string `json:"destination"`
	Reference   string `json:"reference,omitempty"`
}

// upholdTransaction is a transaction object (upDocsTransactionO).
type upholdTransaction struct {
	ID, Status, Type, Network, Destination, Reference, CardID, Currency string
	Direction                                                           linkvault.TransferDirection
	Amount, Fee, Total                                                  linkvault.Decimal
	CreatedAt, ExpiresAt                                                time.Time
}

func (tx upholdTransaction) result(cardID string) linkvault.TransferResult {
	status, detail := upholdStatuses.state(tx.Status)
	return linkvault.TransferResult{
		TransferID: tx.ID, AccountID: firstNonEmpty(cardID, tx.CardID), Status: status, StatusDetail: detail,
		Direction: tx.Direction, Symbol: tx.Currency, Network: upholdNetworkNames.canonical(tx.Network),
		Amount: tx.Amount, Fee: tx.Fee, FeeCurrency: tx.Currency, ToAddress: tx.Destination, CreatedAt: tx.CreatedAt,
	}
}

// upholdStatuses are the transaction statuses of upDocsTransactionO.
var upholdStatuses = transferStatuses{succeeded: []string{"completed"}, failed: []string{"cancelled", "failed"}, pending: []string{"pending", "processing"}}

type upholdTxWire struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Type         string `json:"type"`
	Network      string `json:"network"`
	Reference    string `json:"reference"`
	CreatedAt    string `json:"createdAt"`
	Denomination struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"denomination"`
	Fees []struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"fees"`
	Origin struct {
		CardID   string `json:"CardId"`
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"origin"`
	Destination struct {
		Address string `json:"address"`
		Amount  string `json:"amount"`
	} `json:"destination"`
	Params struct {
		TTL *int64 `json:"ttl"`
	} `json:"params"`
}

func (w upholdTxWire) parse() (upholdTransaction, error) {
	amt, dir, err := wireTransaction(w.ID, w.Denomination.Amount, w.Type, "withdrawal", "deposit")
	if err != nil {
		return upholdTransaction{}, err
	}
	tx := upholdTransaction{ID: w.ID, Status: w.Status, Type: w.Type, Network: w.Network, Destination: w.Destination.Address,
		Reference: w.Reference, CardID: w.Origin.CardID, Currency: firstNonEmpty(w.Origin.Currency, w.Denomination.Currency), Amount: amt,
		Direction: dir}
	for _, f := range w.Fees {
		fee, err := amount(f.Amount)
		if err != nil {
			return upholdTransaction{}, err
		}
		if f.Currency == "" || f.Currency == tx.Currency {
			tx.Fee = tx.Fee.Add(fee)
		}
	}
	tx.Total = amt.Add(tx.Fee)
	if w.Origin.Amount != "" { // origin.amount: debited, including commissions and fees
		if tx.Total, err = amount(w.Origin.Amount); err != nil {
			return upholdTransaction{}, err
		}
	}
	tx.CreatedAt, _ = time.Parse(time.RFC3339, w.CreatedAt)
	if w.Params.TTL != nil && *w.Params.TTL > 0 && *w.Params.TTL < 24*3600*1000 && !tx.CreatedAt.IsZero() {
		tx.ExpiresAt = tx.CreatedAt.Add(time.Duration(*w.Params.TTL) * time.Millisecond)
	}
	return tx, nil
}

func parseUpholdTransaction(b []byte) (upholdTransaction, error) {
	var w upholdTxWire
	if err := json.Unmarshal(b, &w); err != nil {
		return upholdTransaction{}, err
	}
	return w.parse()
}

func parseUpholdTransactions(b []byte) ([]upholdTransaction, error) {
	var ws []upholdTxWire
	if err := json.Unmarshal(b, &ws); err != nil {
		return nil, err
	}
	out := make([]upholdTransaction, 0, len(ws))
	for _, w := range ws {
		tx, err := w.parse()
		if err != nil {
			return nil, err
		}
		out = append(out, tx)
	}
	return out, nil
}

type upholdAddress struct{ Address, Network, Tag string }

// parseUpholdAddresses parses List Card Addresses: [{formats:[{format,value}], type, tag?}].
func parseUpholdAddresses(b []byte) ([]upholdAddress, error) {
	var w []struct {
		Type    string `json:"type"`
		Tag     string `json:"tag"`
		Formats []struct {
			Value string `json:"value"`
		} `json:"formats"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	var out []upholdAddress
	for _, a := range w {
		if len(a.Formats) == 0 || a.Formats[0].Value == "" {
			continue
		}
		out = append(out, upholdAddress{Address: a.Formats[0].Value, Network: a.Type, Tag: a.Tag})
	}
	return out, nil
}

// parseUpholdCreatedAddress parses Create Card Address: {id: <address>, network, tag?}.
func parseUpholdCreatedAddress(b []byte) (upholdAddress, error) {
	var w struct {
		ID      string `json:"id"`
		Network string `json:"network"`
		Tag     string `json:"tag"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return upholdAddress{}, err
	}
	if w.ID == "" {
		return upholdAddress{}, errors.New("address without id")
	}
	return upholdAddress{Address: w.ID, Network: w.Network, Tag: w.Tag}, nil
}

// parseUpholdTicker reads [{ask, bid, currency, pair}] quoted in base.
func parseUpholdTicker(b []byte, base string) (linkvault.Rates, error) {
	var w []struct {
		Ask      string `json:"ask"`
		Bid      string `json:"bid"`
		Currency string `json:"currency"`
		Pair     string `json:"pair"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return linkvault.Rates{}, err
	}
	r := linkvault.Rates{Base: base, Rates: map[string]linkvault.Decimal{}}
	for _, t := range w {
		sym, ok := strings.CutSuffix(t.Pair, base)
		if !ok || sym == "" || t.Currency != base {
			continue
		}
		ask, err1 := amount(t.Ask)
		bid, err2 := amount(t.Bid)
		if err1 != nil || err2 != nil || ask.Sign() <= 0 || bid.Sign() <= 0 {
			continue
		}
		mid, _ := ask.Add(bid).Quo(linkvault.DecimalFromInt(2), ratePlaces)
		if inv, ok := linkvault.DecimalFromInt(1).Quo(mid, ratePlaces); ok && inv.Sign() > 0 {
			r.Rates[sym] = inv
		}
	}
	return r, nil
}

// upholdErrors classifies an Uphold error answer (upDocsErrors): OAuth errors
// {"error": ...} for tokens; {"code": "validation_failed", "errors": {...}} with nested
// codes for refused transactions (upDocsLimitErrors); 401 with "OTP-Token: Required"
// when a second factor is needed (upDocsCreateTx).
func upholdErrors(status int, h http.Header, body []byte) (string, linkvault.ProviderErrorKind) {
	if status == http.StatusUnauthorized && strings.EqualFold(strings.TrimSpace(h.Get("OTP-Token")), "required") {
		return "mfa_required", linkvault.ProviderMFARequired
	}
	return upholdErrorCode(body), 0
}

func upholdErrorCode(b []byte) string {
	var w struct {
		Code   string          `json:"code"`
		Error  string          `json:"error"`
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(b, &w) != nil {
		return ""
	}
	if w.Code == "validation_failed" {
		for _, nested := range nestedCodes(w.Errors, 0) {
			switch nested {
			case "sufficient_funds":
				return "insufficient_funds"
			case "less_than_or_equal_to":
				return "above_maximum"
			case "greater_than_or_equal_to":
				return "below_minimum"
			}
		}
	}
	return firstNonEmpty(w.Code, w.Error)
}

// nestedCodes collects the "code" values of Uphold's nested validation errors.
func nestedCodes(raw json.RawMessage, depth int) []string {
	if len(raw) == 0 || depth > 6 {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		var out []string
		if c, ok := obj["code"]; ok {
			var s string
			if json.Unmarshal(c, &s) == nil {
				out = append(out, s)
			}
		}
		for k, v := range obj {
			if k != "code" {
				out = append(out, nestedCodes(v, depth+1)...)
			}
		}
		return out
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		var out []string
		for _, v := range arr {
			out = append(out, nestedCodes(v, depth+1)...)
		}
		return out
	}
	return nil
}

// TransferAssets lists the assets this adapter sends, each with the canonical codes of
// its networks, default first (the managed-transfer catalog; account.AssetLister).
func (p *Uphold) TransferAssets() map[string][]string {
	out := make(map[string][]string, len(upholdDefaultNetworks))
	for sym, nets := range upholdDefaultNetworks {
		for _, n := range nets {
			out[sym] = append(out[sym], upholdNetworkNames.canonical(n))
		}
	}
	return out
}
