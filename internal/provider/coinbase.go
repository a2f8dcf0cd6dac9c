package provider

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// CoinbaseProduction are Coinbase's real endpoints and the scopes linkvault asks for.
var CoinbaseProduction = Config{
	AuthURL:    "https://login.coinbase.com/oauth2/auth",
	TokenURL:   "https://login.coinbase.com/oauth2/token",
	RevokeURL:  "https://login.coinbase.com/oauth2/revoke",
	APIBaseURL: "https://api.coinbase.com",
	Scopes: []string{
		"wallet:user:read", "wallet:accounts:read", "wallet:transactions:read", "wallet:transactions:send", "offline_access",
	},
}

// sandboxScopes are what the sandbox exchange grants.
var sandboxScopes = []string{"accounts:read", "transfers:write", "offline_access"}

// coinbaseAPIVersion is sent as CB-VERSION on every v2 API call.
const coinbaseAPIVersion = "2024-01-01"

// maxAccountPages bounds how many pages of wallets are followed.
const maxAccountPages = 20

// Coinbase is the adapter for Coinbase, and for the sandbox exchange, which speaks the
// same protocol: OAuth2 code flow with PKCE, rotating refresh tokens, the v2 REST API.
type Coinbase struct {
	integration linkvault.Integration
	oauth       *oauthClient
	http        *caller
	apiBase     string
}

var _ linkvault.OAuthProvider = (*Coinbase)(nil)

// NewCoinbase builds the Coinbase adapter; empty endpoints take CoinbaseProduction.
func NewCoinbase(cfg Config, d Deps) (*Coinbase, error) {
	cfg = cfg.withDefaults(CoinbaseProduction)
	return newCoinbaseProtocol(linkvault.Integration{
		Type: linkvault.BrokerCoinbase, Name: "Coinbase", AuthKind: linkvault.AuthOAuth, BrandColor: "#0052FF",
		SupportsRefresh: true, SupportsRevocation: true, SupportsTransfers: true, Networks: defaultNetworks,
	}, cfg, d)
}

// NewSandbox builds the sandbox adapter. The sandbox exchange speaks the Coinbase
// protocol with short-lived access tokens; it has no production URLs, so every endpoint
// must be configured (internal/exchangesim/simprovider points it at a simulator).
func NewSandbox(cfg Config, d Deps) (*Coinbase, error) {
	cfg = cfg.withDefaults(Config{Scopes: sandboxScopes})
	return newCoinbaseProtocol(linkvault.Integration{
		Type: linkvault.BrokerSandbox, Name: "Sandbox", AuthKind: linkvault.AuthOAuth, BrandColor: "#6B46C1",
		SupportsRefresh: true, SupportsRevocation: true, SupportsTransfers: true, Networks: defaultNetworks,
	}, cfg, d)
}

func newCoinbaseProtocol(in linkvault.Integration, cfg Config, d Deps) (*Coinbase, error) {
	if err := requireURLs(in.Type, map[string]string{
		"AuthURL": cfg.AuthURL, "TokenURL": cfg.TokenURL, "APIBaseURL": cfg.APIBaseURL, "ClientID": cfg.ClientID,
	}); err != nil {
		return nil, err
	}
	d = d.withDefaults()
	c := newCaller(in.Type, cfg, d)
	return &Coinbase{
		integration: in,
		oauth:       newOAuthClient(in.Type, cfg, c),
		http:        c,
		apiBase:     strings.TrimRight(cfg.APIBaseURL, "/"),
	}, nil
}

// Integration describes the adapter for the catalog.
func (p *Coinbase) Integration() linkvault.Integration { return p.integration }

// AuthCodeURL returns the consent URL (state + PKCE S256).
func (p *Coinbase) AuthCodeURL(state, codeVerifier, redirectURL string) string {
	return p.oauth.authCodeURL(state, codeVerifier, redirectURL)
}

// Exchange trades the authorization code for a credential and records the user's id
// as its Subject (best effort: the credential is returned even if that lookup fails,
// since the code cannot be used twice).
func (p *Coinbase) Exchange(ctx context.Context, code, codeVerifier, redirectURL string) (linkvault.Credential, error) {
	c, err := p.oauth.exchange(ctx, code, codeVerifier, redirectURL)
	if err != nil {
		return c, err
	}
	if u, err := p.user(ctx, c, "exchange"); err == nil {
		c.Subject = u.ID
	} else {
		p.http.log.Warn("user lookup after code exchange failed", "err", err)
	}
	return c, nil
}

// Refresh rotates the refresh token; the new credential holds the new refresh token.
func (p *Coinbase) Refresh(ctx context.Context, c linkvault.Credential) (linkvault.Credential, error) {
	return p.oauth.refresh(ctx, c)
}

// Validate calls GET /v2/user.
func (p *Coinbase) Validate(ctx context.Context, c linkvault.Credential) error {
	_, err := p.user(ctx, c, "validate")
	return err
}

// Revoke revokes the grant with RFC 7009.
func (p *Coinbase) Revoke(ctx context.Context, c linkvault.Credential) error {
	return p.oauth.revoke(ctx, c)
}

func (p *Coinbase) get(ctx context.Context, op, path string, c linkvault.Credential) (*apiResponse, error) {
	return p.http.call(ctx, op, http.MethodGet, p.apiBase+path, nil, p.authorize(c), coinbaseErrorCode)
}

func (p *Coinbase) authorize(c linkvault.Credential) func(*http.Request) {
	return func(r *http.Request) {
		bearer(c.AccessToken)(r)
		r.Header.Set("CB-VERSION", coinbaseAPIVersion)
	}
}

func (p *Coinbase) user(ctx context.Context, c linkvault.Credential, op string) (coinbaseUser, error) {
	resp, err := p.get(ctx, op, "/v2/user", c)
	if err != nil {
		return coinbaseUser{}, err
	}
	return decode(p.http, op, resp, parseCoinbaseUser)
}

// wallets lists every wallet, following pagination.
func (p *Coinbase) wallets(ctx context.Context, c linkvault.Credential, op string) ([]coinbaseAccount, error) {
	var all []coinbaseAccount
	path := "/v2/accounts?limit=100"
	for range maxAccountPages {
		resp, err := p.get(ctx, op, path, c)
		if err != nil {
			return nil, err
		}
		page, err := decode(p.http, op, resp, parseCoinbaseAccounts)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Accounts...)
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

// Accounts reports the connection as one account: the user's wallets valued in USD.
func (p *Coinbase) Accounts(ctx context.Context, c linkvault.Credential) ([]linkvault.Account, error) {
	const op = "accounts"
	id := c.Subject
	if id == "" {
		u, err := p.user(ctx, c, op)
		if err != nil {
			return nil, err
		}
		id = u.ID
	}
	ws, err := p.wallets(ctx, c, op)
	if err != nil {
		return nil, err
	}
	acct := linkvault.Account{AccountID: id, AccountName: p.integration.Name}
	for _, w := range ws {
		acct.Fund += w.NativeValue
		if isFiat(w.Currency) {
			acct.Cash += w.Amount
		}
	}
	acct.Fund, acct.Cash = roundCents(acct.Fund), roundCents(acct.Cash)
	return []linkvault.Account{acct}, nil
}

// Holdings lists the crypto wallets with a balance.
func (p *Coinbase) Holdings(ctx context.Context, c linkvault.Credential) (linkvault.Holdings, error) {
	ws, err := p.wallets(ctx, c, "holdings")
	if err != nil {
		return linkvault.Holdings{}, err
	}
	h := linkvault.Holdings{AccountID: c.Subject, InstitutionName: p.integration.Name,
		CryptocurrencyPositions: []linkvault.Position{}, EquityPositions: []linkvault.Position{}}
	for _, w := range ws {
		if isFiat(w.Currency) || w.Amount <= 0 {
			continue
		}
		h.CryptocurrencyPositions = append(h.CryptocurrencyPositions, position(w.Currency, w.CurrencyName, w.Amount, w.NativeValue))
	}
	return h, nil
}

// Balances lists the fiat wallets (USD with zero when there is none).
func (p *Coinbase) Balances(ctx context.Context, c linkvault.Credential) ([]linkvault.Balance, error) {
	ws, err := p.wallets(ctx, c, "balances")
	if err != nil {
		return nil, err
	}
	var out []linkvault.Balance
	for _, w := range ws {
		if isFiat(w.Currency) {
			out = append(out, fiatBalance(w.Currency, w.Amount))
		}
	}
	if len(out) == 0 {
		out = append(out, fiatBalance("USD", 0))
	}
	return out, nil
}

// walletFor picks the wallet to send from: FromAccountID when it names a wallet,
// otherwise the wallet of the symbol.
func (p *Coinbase) walletFor(ctx context.Context, c linkvault.Credential, op string, r linkvault.TransferRequest) (coinbaseAccount, error) {
	ws, err := p.wallets(ctx, c, op)
	if err != nil {
		return coinbaseAccount{}, err
	}
	for _, w := range ws {
		if r.FromAccountID != "" && w.ID == r.FromAccountID {
			return w, nil
		}
	}
	for _, w := range ws {
		if w.Currency == r.Symbol {
			return w, nil
		}
	}
	return coinbaseAccount{}, rejected(p.http.broker, op, "insufficient_funds")
}

// PreviewTransfer quotes the network fee.
func (p *Coinbase) PreviewTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferPreview, error) {
	const op = "preview_transfer"
	if err := checkTransferRequest(p.http.broker, op, r, false); err != nil {
		return linkvault.TransferPreview{}, err
	}
	w, err := p.walletFor(ctx, c, op, r)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	q := url.Values{"amount": {formatAmount(r.Amount)}, "currency": {w.Currency}, "network": {r.Network}, "to": {r.ToAddress}}
	resp, err := p.get(ctx, op, "/v2/accounts/"+url.PathEscape(w.ID)+"/transactions/fee-estimate?"+q.Encode(), c)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	est, err := decode(p.http, op, resp, parseCoinbaseFeeEstimate)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	return linkvault.TransferPreview{
		PreviewID: linkvault.NewRandomID(12), Symbol: w.Currency, Network: r.Network, Amount: r.Amount,
		Fee: est.Fee, Total: roundAmount(r.Amount + est.Fee), ToAddress: r.ToAddress, ExpiresAt: est.ExpiresAt,
		InsufficientFund: est.InsufficientFunds,
	}, nil
}

// ExecuteTransfer sends crypto, idempotent by r.ClientTransactionID (Coinbase "idem").
func (p *Coinbase) ExecuteTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferResult, error) {
	const op = "execute_transfer"
	if err := checkTransferRequest(p.http.broker, op, r, true); err != nil {
		return linkvault.TransferResult{}, err
	}
	w, err := p.walletFor(ctx, c, op, r)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	body := map[string]string{
		"type": "send", "to": r.ToAddress, "amount": formatAmount(r.Amount), "currency": w.Currency,
		"network": r.Network, "idem": r.ClientTransactionID,
	}
	resp, err := p.http.call(ctx, op, http.MethodPost, p.apiBase+"/v2/accounts/"+url.PathEscape(w.ID)+"/transactions",
		body, p.authorize(c), coinbaseErrorCode)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	tx, err := decode(p.http, op, resp, parseCoinbaseTransaction)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	return linkvault.TransferResult{
		TransferID: tx.ID, Status: tx.Status, Symbol: w.Currency, Network: firstNonEmpty(tx.Network, r.Network),
		Amount: math.Abs(tx.Amount), Fee: tx.Fee, ToAddress: firstNonEmpty(tx.To, r.ToAddress), Hash: tx.Hash,
	}, nil
}

// --- wire parsing (kept as pure functions so they can be fuzzed) ---

type coinbaseUser struct{ ID string }

func parseCoinbaseUser(b []byte) (coinbaseUser, error) {
	var w struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return coinbaseUser{}, err
	}
	if w.Data.ID == "" {
		return coinbaseUser{}, errors.New("user without id")
	}
	return coinbaseUser{ID: w.Data.ID}, nil
}

// coinbaseAccount is one Coinbase wallet.
type coinbaseAccount struct {
	ID           string
	Currency     string
	CurrencyName string
	Amount       float64
	NativeValue  float64 // in USD
}

// coinbaseAccountsPage is one page of GET /v2/accounts.
type coinbaseAccountsPage struct {
	Accounts []coinbaseAccount
	NextURI  string
}

// parseCoinbaseAccounts parses a page of GET /v2/accounts.
func parseCoinbaseAccounts(b []byte) (coinbaseAccountsPage, error) {
	var w struct {
		Pagination struct {
			NextURI *string `json:"next_uri"`
		} `json:"pagination"`
		Data []struct {
			ID       string `json:"id"`
			Currency struct {
				Code string `json:"code"`
				Name string `json:"name"`
			} `json:"currency"`
			Balance       coinbaseMoney `json:"balance"`
			NativeBalance coinbaseMoney `json:"native_balance"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return coinbaseAccountsPage{}, err
	}
	if w.Data == nil {
		return coinbaseAccountsPage{}, errors.New("accounts without data")
	}
	var page coinbaseAccountsPage
	if w.Pagination.NextURI != nil {
		page.NextURI = *w.Pagination.NextURI
	}
	for _, a := range w.Data {
		if a.ID == "" || a.Currency.Code == "" {
			return coinbaseAccountsPage{}, errors.New("account without id or currency")
		}
		amt, err := parseDecimal(a.Balance.Amount)
		if err != nil {
			return coinbaseAccountsPage{}, err
		}
		native := 0.0
		if a.NativeBalance.Amount != "" {
			if native, err = parseDecimal(a.NativeBalance.Amount); err != nil {
				return coinbaseAccountsPage{}, err
			}
		}
		page.Accounts = append(page.Accounts, coinbaseAccount{
			ID: a.ID, Currency: a.Currency.Code, CurrencyName: a.Currency.Name, Amount: amt, NativeValue: native,
		})
	}
	return page, nil
}

type coinbaseMoney struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type coinbaseFeeEstimate struct {
	Fee               float64
	InsufficientFunds bool
	ExpiresAt         time.Time
}

func parseCoinbaseFeeEstimate(b []byte) (coinbaseFeeEstimate, error) {
	var w struct {
		Data struct {
			Fee               coinbaseMoney `json:"fee"`
			InsufficientFunds bool          `json:"insufficient_funds"`
			ExpiresAt         string        `json:"expires_at"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return coinbaseFeeEstimate{}, err
	}
	fee, err := parseDecimal(w.Data.Fee.Amount)
	if err != nil {
		return coinbaseFeeEstimate{}, err
	}
	est := coinbaseFeeEstimate{Fee: fee, InsufficientFunds: w.Data.InsufficientFunds}
	if w.Data.ExpiresAt != "" {
		est.ExpiresAt, _ = time.Parse(time.RFC3339, w.Data.ExpiresAt)
	}
	return est, nil
}

type coinbaseTransaction struct {
	ID, Status, Network, Hash, To string
	Amount, Fee                   float64
}

func parseCoinbaseTransaction(b []byte) (coinbaseTransaction, error) {
	var w struct {
		Data struct {
			ID      string        `json:"id"`
			Status  string        `json:"status"`
			Amount  coinbaseMoney `json:"amount"`
			Network struct {
				Name string        `json:"network_name"`
				Hash string        `json:"hash"`
				Fee  coinbaseMoney `json:"transaction_fee"`
			} `json:"network"`
			To struct {
				Address string `json:"address"`
			} `json:"to"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return coinbaseTransaction{}, err
	}
	if w.Data.ID == "" {
		return coinbaseTransaction{}, errors.New("transaction without id")
	}
	amt, err := parseDecimal(w.Data.Amount.Amount)
	if err != nil {
		return coinbaseTransaction{}, err
	}
	fee := 0.0
	if w.Data.Network.Fee.Amount != "" {
		if fee, err = parseDecimal(w.Data.Network.Fee.Amount); err != nil {
			return coinbaseTransaction{}, err
		}
	}
	return coinbaseTransaction{
		ID: w.Data.ID, Status: transferStatus(w.Data.Status), Network: w.Data.Network.Name, Hash: w.Data.Network.Hash,
		To: w.Data.To.Address, Amount: amt, Fee: fee,
	}, nil
}

// coinbaseErrorCode reads {"errors":[{"id": "..."}]} or an OAuth {"error": "..."}.
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

// --- helpers shared by the adapters ---

// parseDecimal parses a provider amount string.
func parseDecimal(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("amount out of range")
	}
	return v, nil
}

func formatAmount(v float64) string { return strconv.FormatFloat(roundAmount(v), 'f', -1, 64) }

func roundAmount(v float64) float64 { return math.Round(v*1e8) / 1e8 }

func roundCents(v float64) float64 { return math.Round(v*100) / 100 }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// position builds a holding with its price derived from its USD value.
func position(symbol, name string, amount, usdValue float64) linkvault.Position {
	pos := linkvault.Position{Symbol: symbol, Name: name, Amount: amount, MarketValue: roundCents(usdValue)}
	if amount > 0 && usdValue > 0 {
		pos.LastPrice = roundCents(usdValue / amount)
	}
	return pos
}

func fiatBalance(currency string, amount float64) linkvault.Balance {
	return linkvault.Balance{CurrencyCode: currency, Cash: amount, BuyingPower: amount, CryptocurrencyBuyingPower: amount}
}

// transferStatus maps provider states to pending | succeeded | failed.
func transferStatus(s string) string {
	switch strings.ToLower(s) {
	case "completed", "complete", "confirmed", "succeeded", "success":
		return "succeeded"
	case "failed", "canceled", "cancelled", "expired", "rejected", "error":
		return "failed"
	}
	return "pending"
}

// checkTransferRequest validates the caller's request before any provider call.
func checkTransferRequest(b linkvault.BrokerType, op string, r linkvault.TransferRequest, execute bool) error {
	switch {
	case r.Symbol == "" || r.ToAddress == "":
		return rejected(b, op, "invalid_request")
	case !(r.Amount > 0) || math.IsInf(r.Amount, 0):
		return rejected(b, op, "invalid_amount")
	case execute && r.ClientTransactionID == "":
		return rejected(b, op, "missing_client_transaction_id")
	}
	return nil
}
