package provider

import (
	"context"
	"errors"
	"strings"

	"github.com/linkvault/linkvault"
)

// oauthAdapter is what the OAuth exchanges' adapters (Coinbase and the sandbox, Uphold)
// share: their catalog entry, the OAuth client (consent URL, code exchange, revocation),
// the API caller and base URL, the rate cache, and recording the exchange's user id as
// the credential's Subject. Each adapter supplies its user lookup (whoami) and its own
// Refresh.
type oauthAdapter struct {
	integration linkvault.Integration
	oauth       *oauthClient
	http        *caller
	apiBase     string
	rates       *rateCache
	// whoami returns the exchange's id of the credential's user (GET /v2/user at
	// Coinbase, GET /v0/me at Uphold); op names the operation in errors and metrics.
	whoami func(ctx context.Context, c linkvault.Credential, op string) (string, error)
	// walletOf returns the id of the wallet (Coinbase account, Uphold card) of a
	// symbol that transfers of that symbol use.
	walletOf func(ctx context.Context, c linkvault.Credential, op, symbol string) (string, error)
}

// newOAuthAdapter checks the endpoints cfg must name and builds the shared parts. An
// operator's explicit scopes replace the ones style derives from the permission.
func newOAuthAdapter(in linkvault.Integration, cfg Config, d Deps, style oauthStyle, configure func(*caller)) (oauthAdapter, error) {
	if err := requireURLs(in.Type, map[string]string{
		"AuthURL": cfg.AuthURL, "TokenURL": cfg.TokenURL, "APIBaseURL": cfg.APIBaseURL, "ClientID": cfg.ClientID,
	}); err != nil {
		return oauthAdapter{}, err
	}
	d = d.withDefaults()
	c := newCaller(in.Type, cfg, d)
	if configure != nil {
		configure(c)
	}
	if len(cfg.Scopes) > 0 {
		style.scopes = nil
	}
	return oauthAdapter{
		integration: in,
		oauth:       newOAuthClient(in.Type, cfg, c, style),
		http:        c,
		apiBase:     strings.TrimRight(cfg.APIBaseURL, "/"),
		rates:       newRateCache(DefaultRatesTTL, d.Now),
	}, nil
}

// Integration describes the adapter for the catalog.
func (p *oauthAdapter) Integration() linkvault.Integration { return p.integration }

// AuthCodeURL returns the consent URL: state, the permission's scopes, and PKCE S256
// where the exchange documents it (Coinbase: cbDocsOAuth; Uphold's upDocsAuth documents
// no PKCE).
func (p *oauthAdapter) AuthCodeURL(r linkvault.AuthCodeRequest) string { return p.oauth.authCodeURL(r) }

// Exchange trades the authorization code for a credential and records the user's id
// as its Subject (best effort: the credential is returned even if that lookup fails,
// since the code cannot be used twice).
func (p *oauthAdapter) Exchange(ctx context.Context, code, codeVerifier, redirectURL string) (linkvault.Credential, error) {
	c, err := p.oauth.exchange(ctx, code, codeVerifier, redirectURL)
	if err != nil {
		return c, err
	}
	if id, err := p.whoami(ctx, c, "exchange"); err == nil {
		c.Subject = id
	} else {
		p.http.log.WarnContext(ctx, "user lookup after code exchange failed", "error", err)
	}
	return c, nil
}

// subject is the exchange's id of the credential's user: its Subject, else looked up.
func (p *oauthAdapter) subject(ctx context.Context, c linkvault.Credential, op string) (string, error) {
	if c.Subject != "" {
		return c.Subject, nil
	}
	return p.whoami(ctx, c, op)
}

// transferAccount is the wallet of a transfer reference: the one it names, else the
// wallet of its symbol. A reference without a transfer id is refused.
func (p *oauthAdapter) transferAccount(ctx context.Context, c linkvault.Credential, op string, ref linkvault.TransferRef) (string, error) {
	if ref.TransferID == "" {
		return "", rejected(p.http.broker, op, "invalid_request")
	}
	if ref.AccountID != "" {
		return ref.AccountID, nil
	}
	return p.walletOf(ctx, c, op, ref.Symbol)
}

// Validate looks the credential's user up.
func (p *oauthAdapter) Validate(ctx context.Context, c linkvault.Credential) error {
	_, err := p.whoami(ctx, c, "validate")
	return err
}

// Revoke revokes the grant at the exchange: RFC 7009 at Coinbase (cbDocsOAuth: POST
// /oauth2/revoke), as Uphold's SDK does at Uphold (upSDKRevoke; users can also revoke
// the application in Uphold, and the token then simply stops working).
func (p *oauthAdapter) Revoke(ctx context.Context, c linkvault.Credential) error {
	return p.oauth.revoke(ctx, c)
}

// wireTransaction reads what a transaction resource of Coinbase and of Uphold both
// carry: its id (required), its amount, and its type, which names a withdrawal or a
// deposit (any other type is neither).
func wireTransaction(id, amountText, typ, withdrawal, deposit string) (linkvault.Decimal, linkvault.TransferDirection, error) {
	if id == "" {
		return linkvault.Decimal{}, "", errors.New("transaction without id")
	}
	amt, err := amount(amountText)
	if err != nil {
		return linkvault.Decimal{}, "", err
	}
	switch typ {
	case withdrawal:
		return amt, linkvault.TransferWithdrawal, nil
	case deposit:
		return amt, linkvault.TransferDeposit, nil
	}
	return amt, "", nil
}
