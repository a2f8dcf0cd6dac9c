package exchangesim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

// authCodeTTL is how long an authorization code may wait for its exchange.
const authCodeTTL = 10 * time.Minute

// TokenResponse is an OAuth2 token endpoint answer (and, for the Binance-like exchange,
// an API key: AccessToken is the key, SecretKey its secret).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    *int64 `json:"expires_in"` // null: never expires (Uphold)
	RefreshToken string `json:"refresh_token,omitempty"`
	// RefreshTokenExpiresIn is the refresh token's lifetime in seconds, when one is issued.
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in,omitempty"`
	Scope                 string `json:"scope,omitempty"`
	// SecretKey is the secret of a Binance-like API key (MintGrant only).
	SecretKey string `json:"secret_key,omitempty"`
}

func tokenResponse(t issued) TokenResponse {
	tr := TokenResponse{AccessToken: t.access, TokenType: "bearer", RefreshToken: t.refresh, Scope: t.scope}
	if t.accessTTL > 0 {
		s := int64(t.accessTTL / time.Second)
		tr.ExpiresIn = &s
	}
	if t.refresh != "" && t.refreshTTL > 0 {
		tr.RefreshTokenExpiresIn = int64(t.refreshTTL / time.Second)
	}
	return tr
}

// defaultScope is what a grant gets when the client asks for nothing specific.
func (e *Exchange) defaultScope() string {
	switch e.flavor {
	case FlavorCoinbase, FlavorSandbox:
		return "wallet:user:read wallet:user:email wallet:accounts:read wallet:transactions:read wallet:addresses:read " +
			"wallet:transactions:send wallet:addresses:create offline_access"
	case FlavorUphold:
		return "user:read cards:read transactions:read transactions:withdraw cards:write"
	}
	return "apikey"
}

func (e *Exchange) lifetimes() lifetimes {
	return lifetimes{access: e.cfg.AccessTTL, refresh: e.cfg.RefreshTTL, withRefresh: e.issuesRefreshTokens()}
}

// routeOAuth mounts the consent page at authPath and the token and revocation endpoints.
func (e *Exchange) routeOAuth(authPath string) {
	e.mux.HandleFunc("GET "+authPath, e.handleConsentPage)
	e.mux.HandleFunc("POST "+authPath, e.handleConsentSubmit)
	e.mux.HandleFunc("POST /oauth2/token", e.faulty(classToken, e.handleToken))
	e.mux.HandleFunc("POST /oauth2/revoke", e.faulty(classRevoke, e.handleRevoke))
}

// authRequest is a validated authorization request.
type authRequest struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	State               string
	Scope               string
	CodeChallenge       string
	CodeChallengeMethod string
}

func (a authRequest) hidden() []hiddenField {
	return []hiddenField{
		{"client_id", a.ClientID}, {"redirect_uri", a.RedirectURI}, {"response_type", a.ResponseType},
		{"state", a.State}, {"scope", a.Scope},
		{"code_challenge", a.CodeChallenge}, {"code_challenge_method", a.CodeChallengeMethod},
	}
}

// parseAuthRequest validates the request parameters. A bad client or redirect URI is
// shown to the user (never redirected to); other problems are redirected to the client
// as an OAuth error code.
func (e *Exchange) parseAuthRequest(r *http.Request, v url.Values) (a authRequest, pageError string, redirectError string) {
	a = authRequest{
		ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"), ResponseType: v.Get("response_type"),
		State: v.Get("state"), Scope: v.Get("scope"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
	}
	if pc := r.PathValue("client"); pc != "" {
		if a.ClientID == "" {
			a.ClientID = pc
		}
		if pc != a.ClientID {
			return a, "Unknown application.", ""
		}
	}
	if a.ClientID != e.cfg.ClientID {
		return a, "Unknown application.", ""
	}
	u, err := url.Parse(a.RedirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return a, "Invalid redirect URI.", ""
	}
	switch {
	case a.ResponseType != "code":
		return a, "", "unsupported_response_type"
	case a.State == "":
		return a, "", "invalid_request"
	case a.CodeChallenge == "" && e.requiresPKCE():
		return a, "", "invalid_request"
	case a.CodeChallenge != "" && a.CodeChallengeMethod != "S256":
		return a, "", "invalid_request"
	}
	if a.Scope == "" {
		a.Scope = e.defaultScope()
	}
	return a, "", ""
}

func redirectWith(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, _ := url.Parse(redirectURI)
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// authRequest parses an authorization request, answering a bad one as RFC 6749 4.1.2.1
// says: an error page when the client or redirect URI is wrong, else a redirect
// carrying the error.
func (e *Exchange) authRequest(w http.ResponseWriter, r *http.Request, v url.Values) (authRequest, bool) {
	a, pageErr, redirErr := e.parseAuthRequest(r, v)
	if pageErr != "" {
		e.renderErrorPage(w, http.StatusBadRequest, pageErr)
		return a, false
	}
	if redirErr != "" {
		redirectWith(w, r, a.RedirectURI, url.Values{"error": {redirErr}, "state": {a.State}})
		return a, false
	}
	return a, true
}

func (e *Exchange) handleConsentPage(w http.ResponseWriter, r *http.Request) {
	if a, ok := e.authRequest(w, r, r.URL.Query()); ok {
		e.renderConsent(w, http.StatusOK, a, "")
	}
}

func (e *Exchange) handleConsentSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		e.renderErrorPage(w, http.StatusBadRequest, "Invalid form.")
		return
	}
	a, ok := e.authRequest(w, r, r.PostForm)
	if !ok {
		return
	}
	if r.PostForm.Get("action") != "authorize" {
		redirectWith(w, r, a.RedirectURI, url.Values{"error": {"access_denied"}, "state": {a.State}})
		return
	}
	u, ok := e.users.authenticate(r.PostForm.Get("username"), r.PostForm.Get("password"))
	if !ok {
		e.stats.loginFailures.Add(1)
		e.renderConsent(w, http.StatusOK, a, "Wrong username or password.")
		return
	}
	e.stats.logins.Add(1)
	code := e.grants.newToken()
	e.grants.addCode(code, &authCode{
		user: u, clientID: a.ClientID, redirectURI: a.RedirectURI, scope: a.Scope,
		challenge: a.CodeChallenge, expiresAt: e.now().Add(authCodeTTL),
	})
	redirectWith(w, r, a.RedirectURI, url.Values{"code": {code}, "state": {a.State}})
}

// clientAuthenticated checks client_id/client_secret from HTTP Basic (RFC 6749 2.3.1,
// form-encoded inside) or from the form, comparing the secret in constant time.
func (e *Exchange) clientAuthenticated(r *http.Request) (string, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		if uid, err := url.QueryUnescape(id); err == nil {
			id = uid
		}
		if us, err := url.QueryUnescape(secret); err == nil {
			secret = us
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	okSecret := equalDigest(digest(secret), digest(e.cfg.ClientSecret))
	return id, id == e.cfg.ClientID && okSecret
}

func pkceMatches(challenge, verifier string) bool {
	if challenge == "" {
		return true
	}
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

func (e *Exchange) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		e.writeError(w, classToken, http.StatusBadRequest, "invalid_request", "Malformed request.")
		return
	}
	clientID, ok := e.clientAuthenticated(r)
	if !ok {
		e.writeError(w, classToken, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	now := e.now()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		redirectURI, verifier := r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier")
		c, problem := e.grants.redeemCode(r.PostForm.Get("code"), now, func(c *authCode) bool {
			return c.clientID == clientID && c.redirectURI == redirectURI && pkceMatches(c.challenge, verifier)
		})
		if problem != codeOK {
			if problem == codeReplayed {
				e.stats.grantsRevoked.Add(1)
			}
			e.writeError(w, classToken, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid.")
			return
		}
		g, t := e.grants.newGrant(c.user, clientID, c.scope, now, e.lifetimes())
		e.grants.bindCodeGrant(c, g, now)
		e.stats.codesExchanged.Add(1)
		e.stats.tokensIssued.Add(1)
		writeJSON(w, http.StatusOK, tokenResponse(t))
	case "refresh_token":
		if !e.issuesRefreshTokens() {
			e.writeError(w, classToken, http.StatusBadRequest, "unsupported_grant_type", "Refresh is not supported.")
			return
		}
		t, outcome := e.grants.rotate(r.PostForm.Get("refresh_token"), clientID, now, e.lifetimes(), e.killsTokensOnPasswordChange())
		switch outcome {
		case refreshRotated:
			e.stats.refreshesOK.Add(1)
			e.stats.tokensIssued.Add(1)
			writeJSON(w, http.StatusOK, tokenResponse(t))
		case refreshReused:
			e.stats.refreshReuse.Add(1)
			e.stats.grantsRevoked.Add(1)
			e.log.Warn("refresh token reuse detected; grant revoked")
			e.writeError(w, classToken, http.StatusBadRequest, "invalid_grant", "The refresh token was already used.")
		default:
			e.stats.refreshesRejected.Add(1)
			e.writeError(w, classToken, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid.")
		}
	default:
		e.writeError(w, classToken, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type.")
	}
}

// handleRevoke is the RFC 7009 endpoint: revoking any token of a grant revokes the
// grant. It answers 200 whether or not the token was known.
func (e *Exchange) handleRevoke(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		e.writeError(w, classRevoke, http.StatusBadRequest, "invalid_request", "Malformed request.")
		return
	}
	token := r.PostForm.Get("token")
	if e.flavor == FlavorUphold {
		// Uphold's SDK revokes with the access token itself as bearer (no client
		// authentication); the bearer must be the token being revoked.
		if bearerToken(r) == "" || bearerToken(r) != token {
			e.writeError(w, classRevoke, http.StatusUnauthorized, "invalid_token", "The access token is not valid.")
			return
		}
		e.stats.revocations.Add(1)
		if e.grants.revokeToken(token, e.cfg.ClientID) {
			e.stats.grantsRevoked.Add(1)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	clientID, ok := e.clientAuthenticated(r)
	if !ok {
		e.writeError(w, classRevoke, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	e.stats.revocations.Add(1)
	if e.grants.revokeToken(token, clientID) {
		e.stats.grantsRevoked.Add(1)
	}
	w.WriteHeader(http.StatusOK)
}

// MintGrant creates a grant for username (provisioning the user with DefaultPassword if
// needed) and returns its tokens as if the user had gone through consent. On the
// Binance-like exchange it returns a session (AccessToken is the session token).
func (e *Exchange) MintGrant(username string) (TokenResponse, error) {
	if username == "" {
		return TokenResponse{}, ErrUnknownUser
	}
	if e.flavor == FlavorBinance {
		// A key that can read and withdraw, restricted to loopback, as a test user
		// would create for a write connection.
		k, err := e.CreateAPIKey(username, APIKeyPermissions{Withdrawals: true, TrustedIPs: []string{"127.0.0.1", "::1"}})
		if err != nil {
			return TokenResponse{}, err
		}
		tr := TokenResponse{AccessToken: k.Key, SecretKey: k.Secret, TokenType: "binance-hmac-sha256"}
		if e.cfg.AccessTTL > 0 {
			s := int64(e.cfg.AccessTTL / time.Second)
			tr.ExpiresIn = &s
		}
		return tr, nil
	}
	u := e.users.ensure(username)
	_, t := e.grants.newGrant(u, e.cfg.ClientID, e.defaultScope(), e.now(), e.lifetimes())
	e.stats.tokensIssued.Add(1)
	return tokenResponse(t), nil
}

// RevokeUserGrants revokes every grant (and session) of a user and returns how many.
func (e *Exchange) RevokeUserGrants(username string) (int, error) {
	u := e.users.lookup(username)
	if u == nil {
		return 0, ErrUnknownUser
	}
	n := e.grants.revokeUser(u)
	if e.flavor == FlavorBinance {
		n = e.keys.deleteUserKeys(u)
	}
	e.stats.grantsRevoked.Add(int64(n))
	e.log.Info("grants revoked", "user", username, "count", n)
	return n, nil
}

// ExpireAccessTokens makes every expiring access token issued so far expired now.
// Refresh tokens stay usable; tokens without expiry (Uphold-like) are not affected. On
// the Binance-like exchange every API key issued so far stops working, as Binance does
// with keys it deletes (unrestricted keys left unused for a while).
func (e *Exchange) ExpireAccessTokens() {
	e.grants.order.retireAll()
	e.keys.order.retireAll() // Binance-like: every key issued so far stops working
	e.log.Info("all access tokens expired")
}
