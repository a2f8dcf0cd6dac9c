package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// UpholdProduction are Uphold's real endpoints. The authorization URL embeds the client
// id (https://wallet.uphold.com/authorize/<client id>) and is completed by NewUphold.
var UpholdProduction = Config{
	TokenURL:   "https://api.uphold.com/oauth2/token",
	RevokeURL:  "https://api.uphold.com/oauth2/revoke",
	APIBaseURL: "https://api.uphold.com",
	Scopes:     []string{"user:read", "cards:read", "transactions:read", "transactions:transfer:others"},
}

const upholdAuthorizeBase = "https://wallet.uphold.com/authorize/"

// Uphold is the adapter for Uphold: OAuth2 code flow, tokens without expiry and without
// refresh token, which die when the user revokes access or changes password (found by
// Validate).
type Uphold struct {
	oauth   *oauthClient
	http    *caller
	apiBase string
}

var _ linkvault.OAuthProvider = (*Uphold)(nil)

// NewUphold builds the Uphold adapter; empty endpoints take UpholdProduction.
func NewUphold(cfg Config, d Deps) (*Uphold, error) {
	prod := UpholdProduction
	prod.AuthURL = upholdAuthorizeBase + url.PathEscape(cfg.ClientID)
	cfg = cfg.withDefaults(prod)
	if err := requireURLs(linkvault.BrokerUphold, map[string]string{
		"AuthURL": cfg.AuthURL, "TokenURL": cfg.TokenURL, "APIBaseURL": cfg.APIBaseURL, "ClientID": cfg.ClientID,
	}); err != nil {
		return nil, err
	}
	d = d.withDefaults()
	c := newCaller(linkvault.BrokerUphold, cfg, d)
	return &Uphold{oauth: newOAuthClient(linkvault.BrokerUphold, cfg, c), http: c, apiBase: strings.TrimRight(cfg.APIBaseURL, "/")}, nil
}

// Integration describes the adapter for the catalog.
func (p *Uphold) Integration() linkvault.Integration {
	return linkvault.Integration{
		Type: linkvault.BrokerUphold, Name: "Uphold", AuthKind: linkvault.AuthOAuth, BrandColor: "#49CC68",
		SupportsRefresh: false, SupportsRevocation: true, SupportsTransfers: true, Networks: defaultNetworks,
	}
}

// AuthCodeURL returns the consent URL (state + PKCE S256).
func (p *Uphold) AuthCodeURL(state, codeVerifier, redirectURL string) string {
	return p.oauth.authCodeURL(state, codeVerifier, redirectURL)
}

// Exchange trades the code for a non-expiring token and records the user id (best effort).
func (p *Uphold) Exchange(ctx context.Context, code, codeVerifier, redirectURL string) (linkvault.Credential, error) {
	c, err := p.oauth.exchange(ctx, code, codeVerifier, redirectURL)
	if err != nil {
		return c, err
	}
	if me, err := p.me(ctx, c, "exchange"); err == nil {
		c.Subject = me.ID
	} else {
		p.http.log.Warn("user lookup after code exchange failed", "err", err)
	}
	return c, nil
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

// Validate calls GET /v0/me.
func (p *Uphold) Validate(ctx context.Context, c linkvault.Credential) error {
	_, err := p.me(ctx, c, "validate")
	return err
}

// Revoke revokes the token with RFC 7009.
func (p *Uphold) Revoke(ctx context.Context, c linkvault.Credential) error {
	return p.oauth.revoke(ctx, c)
}

func (p *Uphold) get(ctx context.Context, op, path string, c linkvault.Credential) (*apiResponse, error) {
	return p.http.call(ctx, op, http.MethodGet, p.apiBase+path, nil, bearer(c.AccessToken), upholdErrorCode)
}

func (p *Uphold) me(ctx context.Context, c linkvault.Credential, op string) (upholdUser, error) {
	resp, err := p.get(ctx, op, "/v0/me", c)
	if err != nil {
		return upholdUser{}, err
	}
	return decode(p.http, op, resp, parseUpholdUser)
}

func (p *Uphold) cards(ctx context.Context, c linkvault.Credential, op string) ([]upholdCard, error) {
	resp, err := p.get(ctx, op, "/v0/me/cards", c)
	if err != nil {
		return nil, err
	}
	return decode(p.http, op, resp, parseUpholdCards)
}

// Accounts reports the connection as one account valued in USD.
func (p *Uphold) Accounts(ctx context.Context, c linkvault.Credential) ([]linkvault.Account, error) {
	const op = "accounts"
	id := c.Subject
	if id == "" {
		me, err := p.me(ctx, c, op)
		if err != nil {
			return nil, err
		}
		id = me.ID
	}
	cards, err := p.cards(ctx, c, op)
	if err != nil {
		return nil, err
	}
	acct := linkvault.Account{AccountID: id, AccountName: "Uphold"}
	for _, card := range cards {
		acct.Fund += card.USDValue
		if isFiat(card.Currency) {
			acct.Cash += card.Balance
		}
	}
	acct.Fund, acct.Cash = roundCents(acct.Fund), roundCents(acct.Cash)
	return []linkvault.Account{acct}, nil
}

// Holdings lists the crypto cards with a balance.
func (p *Uphold) Holdings(ctx context.Context, c linkvault.Credential) (linkvault.Holdings, error) {
	cards, err := p.cards(ctx, c, "holdings")
	if err != nil {
		return linkvault.Holdings{}, err
	}
	h := linkvault.Holdings{AccountID: c.Subject, InstitutionName: "Uphold",
		CryptocurrencyPositions: []linkvault.Position{}, EquityPositions: []linkvault.Position{}}
	for _, card := range cards {
		if isFiat(card.Currency) || card.Balance <= 0 {
			continue
		}
		h.CryptocurrencyPositions = append(h.CryptocurrencyPositions, position(card.Currency, card.Label, card.Balance, card.USDValue))
	}
	return h, nil
}

// Balances lists the fiat cards (USD with zero when there is none).
func (p *Uphold) Balances(ctx context.Context, c linkvault.Credential) ([]linkvault.Balance, error) {
	cards, err := p.cards(ctx, c, "balances")
	if err != nil {
		return nil, err
	}
	var out []linkvault.Balance
	for _, card := range cards {
		if isFiat(card.Currency) {
			out = append(out, fiatBalance(card.Currency, card.Available))
		}
	}
	if len(out) == 0 {
		out = append(out, fiatBalance("USD", 0))
	}
	return out, nil
}

func (p *Uphold) cardFor(ctx context.Context, c linkvault.Credential, op string, r linkvault.TransferRequest) (upholdCard, error) {
	cards, err := p.cards(ctx, c, op)
	if err != nil {
		return upholdCard{}, err
	}
	for _, card := range cards {
		if r.FromAccountID != "" && card.ID == r.FromAccountID {
			return card, nil
		}
	}
	for _, card := range cards {
		if card.Currency == r.Symbol {
			return card, nil
		}
	}
	return upholdCard{}, rejected(linkvault.BrokerUphold, op, "insufficient_funds")
}

// createTransaction posts a withdrawal to a card: a quote, or committed at once.
func (p *Uphold) createTransaction(ctx context.Context, c linkvault.Credential, op string, card upholdCard, r linkvault.TransferRequest, commit bool) (upholdTransaction, error) {
	body := map[string]any{
		"denomination": map[string]string{"amount": formatAmount(r.Amount), "currency": card.Currency},
		"destination":  r.ToAddress,
		"network":      r.Network,
	}
	u := p.apiBase + "/v0/me/cards/" + url.PathEscape(card.ID) + "/transactions"
	if commit {
		u += "?commit=true"
	}
	resp, err := p.http.call(ctx, op, http.MethodPost, u, body, func(req *http.Request) {
		bearer(c.AccessToken)(req)
		if commit && r.ClientTransactionID != "" {
			req.Header.Set("Idempotency-Key", r.ClientTransactionID)
		}
	}, upholdErrorCode)
	if err != nil {
		return upholdTransaction{}, err
	}
	return decode(p.http, op, resp, parseUpholdTransaction)
}

// PreviewTransfer creates a quote; its id is the PreviewID that ExecuteTransfer commits.
func (p *Uphold) PreviewTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferPreview, error) {
	const op = "preview_transfer"
	if err := checkTransferRequest(linkvault.BrokerUphold, op, r, false); err != nil {
		return linkvault.TransferPreview{}, err
	}
	card, err := p.cardFor(ctx, c, op, r)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	tx, err := p.createTransaction(ctx, c, op, card, r, false)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	return linkvault.TransferPreview{
		PreviewID: tx.ID, Symbol: card.Currency, Network: firstNonEmpty(tx.Network, r.Network), Amount: tx.Amount,
		Fee: tx.Fee, Total: tx.Total, ToAddress: firstNonEmpty(tx.Destination, r.ToAddress), ExpiresAt: tx.ExpiresAt,
	}, nil
}

// ExecuteTransfer commits the quote named by r.PreviewID (idempotent by quote), or
// creates and commits a transaction idempotent by r.ClientTransactionID.
func (p *Uphold) ExecuteTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferResult, error) {
	const op = "execute_transfer"
	if err := checkTransferRequest(linkvault.BrokerUphold, op, r, true); err != nil {
		return linkvault.TransferResult{}, err
	}
	card, err := p.cardFor(ctx, c, op, r)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	var tx upholdTransaction
	if r.PreviewID != "" {
		u := p.apiBase + "/v0/me/cards/" + url.PathEscape(card.ID) + "/transactions/" + url.PathEscape(r.PreviewID) + "/commit"
		resp, err := p.http.call(ctx, op, http.MethodPost, u, map[string]any{}, bearer(c.AccessToken), upholdErrorCode)
		if err != nil {
			return linkvault.TransferResult{}, err
		}
		if tx, err = decode(p.http, op, resp, parseUpholdTransaction); err != nil {
			return linkvault.TransferResult{}, err
		}
	} else if tx, err = p.createTransaction(ctx, c, op, card, r, true); err != nil {
		return linkvault.TransferResult{}, err
	}
	return linkvault.TransferResult{
		TransferID: tx.ID, Status: transferStatus(tx.Status), Symbol: card.Currency, Network: firstNonEmpty(tx.Network, r.Network),
		Amount: tx.Amount, Fee: tx.Fee, ToAddress: firstNonEmpty(tx.Destination, r.ToAddress), Hash: tx.Hash,
	}, nil
}

// --- wire parsing ---

type upholdUser struct{ ID string }

func parseUpholdUser(b []byte) (upholdUser, error) {
	var w struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return upholdUser{}, err
	}
	if w.ID == "" {
		return upholdUser{}, errors.New("user without id")
	}
	return upholdUser{ID: w.ID}, nil
}

type upholdCard struct {
	ID, Label, Currency string
	Balance, Available  float64
	USDValue            float64
}

func parseUpholdCards(b []byte) ([]upholdCard, error) {
	var w []struct {
		ID         string `json:"id"`
		Label      string `json:"label"`
		Currency   string `json:"currency"`
		Available  string `json:"available"`
		Balance    string `json:"balance"`
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
		bal, err := parseDecimal(c.Balance)
		if err != nil {
			return nil, err
		}
		avail := bal
		if c.Available != "" {
			if avail, err = parseDecimal(c.Available); err != nil {
				return nil, err
			}
		}
		card := upholdCard{ID: c.ID, Label: c.Label, Currency: c.Currency, Balance: bal, Available: avail}
		for _, n := range c.Normalized {
			if n.Currency == "USD" {
				if card.USDValue, err = parseDecimal(n.Balance); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, card)
	}
	return out, nil
}

type upholdTransaction struct {
	ID, Status, Network, Destination, Hash string
	Amount, Fee, Total                     float64
	ExpiresAt                              time.Time
}

func parseUpholdTransaction(b []byte) (upholdTransaction, error) {
	var w struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		Network      string `json:"network"`
		Denomination struct {
			Amount string `json:"amount"`
		} `json:"denomination"`
		Fees []struct {
			Amount string `json:"amount"`
		} `json:"fees"`
		Origin struct {
			Amount string `json:"amount"`
		} `json:"origin"`
		Destination struct {
			Address string `json:"address"`
		} `json:"destination"`
		Params struct {
			TxID string `json:"txid"`
		} `json:"params"`
		ExpiresAt string `json:"expiresAt"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return upholdTransaction{}, err
	}
	if w.ID == "" {
		return upholdTransaction{}, errors.New("transaction without id")
	}
	amt, err := parseDecimal(w.Denomination.Amount)
	if err != nil {
		return upholdTransaction{}, err
	}
	tx := upholdTransaction{ID: w.ID, Status: w.Status, Network: w.Network, Destination: w.Destination.Address, Hash: w.Params.TxID, Amount: amt}
	for _, f := range w.Fees {
		fee, err := parseDecimal(f.Amount)
		if err != nil {
			return upholdTransaction{}, err
		}
		tx.Fee += fee
	}
	tx.Fee = roundAmount(tx.Fee)
	tx.Total = roundAmount(amt + tx.Fee)
	if w.Origin.Amount != "" {
		if tx.Total, err = parseDecimal(w.Origin.Amount); err != nil {
			return upholdTransaction{}, err
		}
	}
	if w.ExpiresAt != "" {
		tx.ExpiresAt, _ = time.Parse(time.RFC3339, w.ExpiresAt)
	}
	return tx, nil
}

// upholdErrorCode reads {"code": "..."} or an OAuth {"error": "..."}.
func upholdErrorCode(b []byte) string {
	var w struct {
		Code  string `json:"code"`
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &w) != nil {
		return ""
	}
	return firstNonEmpty(w.Code, w.Error)
}
