package provider

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/linkvault/linkvault"
)

// oauthClient is the OAuth 2 part shared by the Coinbase, Uphold and sandbox adapters:
// authorization URL (with PKCE where the exchange supports it), code exchange, refresh
// through an oauth2.TokenSource, and revocation.
type oauthClient struct {
	broker    linkvault.BrokerType
	conf      oauth2.Config
	revokeURL string
	clientID  string
	secret    linkvault.Secret
	http      *caller
	style     oauthStyle
	// refreshes collapses concurrent refreshes of one refresh token into a single call:
	// with rotating refresh tokens a second concurrent use would be a replay and burn the
	// grant. Keys are digests, never the token itself.
	refreshes singleflight.Group
	// beforeRefreshJoin, when set (tests only), runs just before a refresh joins or
	// starts the shared call.
	beforeRefreshJoin func()
}

// oauthStyle is how one exchange's authorization server differs from plain RFC 6749.
type oauthStyle struct {
	// scopes returns the exchange scopes for a connection of permission p; nil uses
	// Config.Scopes.
	scopes func(p linkvault.Permission) []string
	// noPKCE: the exchange does not document PKCE; no code_challenge is sent.
	noPKCE bool
	// staticRedirect: the redirect URL is registered with the exchange and is sent
	// neither in the authorization request nor in the token request.
	staticRedirect bool
	// revokeWithBearer: revocation authenticates with the access token itself
	// (Authorization: Bearer) instead of client credentials (Uphold's SDK).
	revokeWithBearer bool
}

func newOAuthClient(b linkvault.BrokerType, cfg Config, c *caller, style oauthStyle) *oauthClient {
	return &oauthClient{
		style:  style,
		broker: b,
		conf: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret.Reveal(),
			Scopes:       cfg.Scopes,
			Endpoint: oauth2.Endpoint{
				AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL,
				// Fixed, so the library never retries a token request with the other
				// style: a retried refresh would replay a single-use refresh token.
				AuthStyle: oauth2.AuthStyleInHeader,
			},
		},
		revokeURL: cfg.RevokeURL,
		clientID:  cfg.ClientID,
		secret:    cfg.ClientSecret,
		http:      c,
	}
}

// authCodeURL returns the consent URL with state, the scopes of the permission and,
// when the exchange supports PKCE and a verifier is given, the S256 challenge.
func (o *oauthClient) authCodeURL(r linkvault.AuthCodeRequest) string {
	conf := o.conf
	if o.style.scopes != nil {
		conf.Scopes = o.style.scopes(r.Scope)
	}
	if !o.style.staticRedirect {
		conf.RedirectURL = r.RedirectURL
	}
	var opts []oauth2.AuthCodeOption
	if r.CodeVerifier != "" && !o.style.noPKCE {
		opts = append(opts, oauth2.S256ChallengeOption(r.CodeVerifier))
	}
	return conf.AuthCodeURL(r.State, opts...)
}

// exchange trades an authorization code for a credential.
func (o *oauthClient) exchange(ctx context.Context, code, codeVerifier, redirectURL string) (linkvault.Credential, error) {
	const op = "exchange"
	if code == "" {
		return linkvault.Credential{}, rejected(o.broker, op, "invalid_request")
	}
	release, err := o.http.acquire(ctx, op)
	if err != nil {
		return linkvault.Credential{}, err
	}
	defer release()
	conf := o.conf
	if !o.style.staticRedirect {
		conf.RedirectURL = redirectURL
	}
	var opts []oauth2.AuthCodeOption
	if codeVerifier != "" && !o.style.noPKCE {
		opts = append(opts, oauth2.VerifierOption(codeVerifier))
	}
	tok, err := conf.Exchange(o.http.oauthContext(ctx), code, opts...)
	if err != nil {
		return linkvault.Credential{}, classifyOAuth(o.broker, op, err, o.http.now())
	}
	return o.credential(tok), nil
}

// refresh renews a credential with its refresh token. The returned credential carries
// the rotated refresh token when the provider issued one (and the old one otherwise).
func (o *oauthClient) refresh(ctx context.Context, c linkvault.Credential) (linkvault.Credential, error) {
	const op = "refresh"
	if c.RefreshToken.IsZero() {
		return linkvault.Credential{}, reauth(o.broker, op, "no_refresh_token")
	}
	sum := sha256.Sum256([]byte(c.RefreshToken.Reveal()))
	if o.beforeRefreshJoin != nil {
		o.beforeRefreshJoin()
	}
	v, err, _ := o.refreshes.Do(string(sum[:]), func() (any, error) {
		release, err := o.http.acquire(ctx, op)
		if err != nil {
			return nil, err
		}
		defer release()
		src := o.conf.TokenSource(o.http.oauthContext(ctx), &oauth2.Token{RefreshToken: c.RefreshToken.Reveal()})
		tok, err := src.Token()
		if err != nil {
			return nil, classifyOAuth(o.broker, op, err, o.http.now())
		}
		return o.credential(tok), nil
	})
	if err != nil {
		return linkvault.Credential{}, err
	}
	next := v.(linkvault.Credential)
	next.Subject = c.Subject
	return next, nil
}

// credential converts a token, computing expiries with the adapter's clock.
func (o *oauthClient) credential(tok *oauth2.Token) linkvault.Credential {
	now := o.http.now()
	c := linkvault.Credential{
		AccessToken:  linkvault.NewSecret(tok.AccessToken),
		RefreshToken: linkvault.NewSecret(tok.RefreshToken),
		TokenType:    tok.TokenType,
	}
	if tok.ExpiresIn > 0 {
		c.Expiry = now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	if secs := extraSeconds(tok.Extra("refresh_token_expires_in")); secs > 0 && !c.RefreshToken.IsZero() {
		c.RefreshExpiry = now.Add(time.Duration(secs) * time.Second)
	}
	return c
}

// extraSeconds reads a numeric extra field of a token response.
func extraSeconds(v any) int64 {
	switch n := v.(type) {
	case float64:
		if n > 0 && n < 1e10 {
			return int64(n)
		}
	case json.Number:
		i, _ := n.Int64()
		return i
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

// revoke invalidates the credential with RFC 7009: the access token, then the refresh
// token. A credential the provider already refuses counts as revoked.
func (o *oauthClient) revoke(ctx context.Context, c linkvault.Credential) error {
	const op = "revoke"
	if o.revokeURL == "" {
		return nil
	}
	if o.style.revokeWithBearer {
		if c.AccessToken.IsZero() {
			return nil
		}
		form := url.Values{"token": {c.AccessToken.Reveal()}}
		_, err := o.http.call(ctx, op, http.MethodPost, o.revokeURL, form, bearer(c.AccessToken), codeOnly(oauthErrorCode))
		if err != nil && !linkvault.IsReauthRequired(err) {
			return err
		}
		return nil
	}
	tokens := []struct {
		value linkvault.Secret
		hint  string
	}{{c.AccessToken, "access_token"}, {c.RefreshToken, "refresh_token"}}
	for _, t := range tokens {
		if t.value.IsZero() {
			continue
		}
		form := url.Values{"token": {t.value.Reveal()}, "token_type_hint": {t.hint}}
		_, err := o.http.call(ctx, op, http.MethodPost, o.revokeURL, form, o.clientAuth, codeOnly(oauthErrorCode))
		if err != nil && !linkvault.IsReauthRequired(err) {
			return err
		}
	}
	return nil
}

// clientAuth sets HTTP Basic client authentication, form-encoding both parts as
// RFC 6749 section 2.3.1 asks.
func (o *oauthClient) clientAuth(r *http.Request) {
	r.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.secret.Reveal()))
}

// oauthErrorCode reads {"error": "..."} (RFC 6749 section 5.2).
func oauthErrorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error
}
