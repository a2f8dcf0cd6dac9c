package link

import (
	"context"
	"errors"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/vault"
)

// StartOAuth begins an authorization-code round trip for broker in the page's
// session: it stores a fresh state and PKCE verifier (replacing any pending step) and
// returns the provider's consent URL. tokenID, when set, names a connection of this
// session's user to re-authenticate; it keeps its tokenId. view is the page's display
// parameters (a query string such as "lng=es&th=dark"), handed back by CompleteOAuth so
// a page rendered anew after a full-page redirect looks the same.
func (s *Service) StartOAuth(ctx context.Context, sess *linkvault.LinkSession, broker linkvault.BrokerType, tokenID, mode, view string) (string, error) {
	p, _, ok := s.integration(broker)
	if !ok {
		return "", errUnsupported()
	}
	op, ok := p.(linkvault.OAuthProvider)
	if !ok {
		return "", errUnsupported()
	}
	if sess.Options.BrokerType != "" && broker != sess.Options.BrokerType {
		return "", errUnsupported()
	}
	if mode != ModeRedirect {
		mode = ModePopup
	}
	if len(view) > 512 {
		view = ""
	}
	if tokenID != "" {
		if _, err := s.ownConnection(ctx, sess, tokenID, broker); err != nil {
			return "", err
		}
	}
	state := linkvault.NewRandomID(stateBytes)
	verifier := linkvault.NewRandomID(verifierBytes)
	if err := s.sealStep(ctx, sess, step{Kind: stepOAuth, Broker: broker, TokenID: tokenID, Verifier: verifier, Mode: mode, View: view}); err != nil {
		return "", err
	}
	sess.StateKey = digest(state)
	sess.Outcome = nil
	if err := s.store.UpdateLinkSession(ctx, sess); err != nil {
		return "", err
	}
	return op.AuthCodeURL(linkvault.AuthCodeRequest{State: state, CodeVerifier: verifier, RedirectURL: s.CallbackURL(), Scope: sess.Permission}), nil
}

// Callback is the result of an OAuth callback.
type Callback struct {
	Session *linkvault.LinkSession
	Mode    string
	Outcome Outcome
	// View is the display query string the page passed to StartOAuth.
	View string
	// TokenID is the connection that was being re-authenticated, if any.
	TokenID string
	// PageSecret is a fresh page secret when Mode is ModeRedirect (the Link page is
	// rendered again by the callback).
	PageSecret linkvault.Secret
}

// CompleteOAuth handles the provider's redirect back: it finds the session by state
// (single use), exchanges the code with the stored PKCE verifier, lists the accounts
// and connects them through the vault. A failure after the state was recognised is
// recorded as the session's outcome and returned in Callback.Outcome with a nil error;
// an unknown, used or expired state is ErrStateInvalid.
func (s *Service) CompleteOAuth(ctx context.Context, state, code, providerError string) (*Callback, error) {
	if !plausibleBearer(state) {
		return nil, ErrStateInvalid()
	}
	sess, err := s.store.GetLinkSessionByState(ctx, digest(state))
	if linkvault.IsNotFound(err) {
		return nil, ErrStateInvalid()
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(sess.ExpiresAt) {
		return nil, ErrStateInvalid()
	}
	st, ok := s.openStep(ctx, sess)
	if !ok || st.Kind != stepOAuth {
		return nil, ErrStateInvalid()
	}
	// Use the state up before calling the provider: a replayed callback finds nothing.
	clearStep(sess)
	if err := s.store.UpdateLinkSession(ctx, sess); err != nil {
		if linkvault.IsConflict(err) {
			return nil, ErrStateInvalid()
		}
		return nil, err
	}
	cb := &Callback{Session: sess, Mode: st.Mode, View: st.View, TokenID: st.TokenID}
	payload, err := s.exchange(ctx, sess, st, code, providerError)
	if err != nil {
		if !isClientSafe(err) {
			return nil, err
		}
		cb.Outcome = failedOutcome(err)
	} else {
		cb.Outcome = Outcome{Status: OutcomeConnected, Payload: payload, Reauthenticated: st.TokenID != ""}
	}
	if st.Mode == ModeRedirect {
		if cb.PageSecret, err = s.reissue(ctx, sess); err != nil {
			return nil, err
		}
	}
	if err := s.setOutcome(ctx, sess, cb.Outcome); err != nil {
		return nil, err
	}
	return cb, nil
}

func (s *Service) exchange(ctx context.Context, sess *linkvault.LinkSession, st step, code, providerError string) (*AccessTokenPayload, error) {
	switch {
	case providerError == "access_denied":
		return nil, ErrAccessDenied()
	case providerError != "" || code == "":
		return nil, providerRefused()
	}
	p, in, ok := s.integration(st.Broker)
	if !ok {
		return nil, errUnsupported()
	}
	op, ok := p.(linkvault.OAuthProvider)
	if !ok {
		return nil, errUnsupported()
	}
	cred, err := op.Exchange(ctx, code, st.Verifier, s.CallbackURL())
	if err != nil {
		s.log.WarnContext(ctx, "link: code exchange failed", "broker", st.Broker, "error_kind", linkvault.ProviderErrorKindOf(err).String())
		return nil, providerFailure(err, providerRefused())
	}
	return s.connect(ctx, sess, p, in, st.TokenID, cred)
}

// connect finishes a successful authentication: it lists the accounts and creates or
// re-attaches the connection. tokenID set re-authenticates that connection.
func (s *Service) connect(ctx context.Context, sess *linkvault.LinkSession, p linkvault.Provider, in linkvault.Integration, tokenID string, cred linkvault.Credential) (*AccessTokenPayload, error) {
	accounts, err := p.Accounts(ctx, cred)
	if err != nil {
		return nil, providerFailure(err, providerRefused())
	}
	c, err := s.vault.Connect(ctx, vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{
			ClientID: sess.ClientID, UserID: sess.UserID, BrokerType: in.Type, Scope: sess.Permission,
		},
		Credential: cred,
		Accounts:   accounts,
		TokenID:    tokenID,
	})
	if err != nil {
		return nil, err
	}
	pl := Payload(c, in, s.baseURL)
	return &pl, nil
}

func providerRefused() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: linkvault.ErrTypeProviderRejected,
		Message: "The exchange refused the authorization.", Display: "The exchange did not accept the sign-in. Please try again."}
}

// providerFailure maps a provider error to a client-safe error: transient failures are
// "try again later", refusals are refused (the given error).
func providerFailure(err error, refused *linkvault.Error) error {
	var pe *linkvault.ProviderError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Kind {
	case linkvault.ProviderTransient:
		return linkvault.ErrProviderUnavailable(pe.RetryAfter)
	case linkvault.ProviderMFARequired:
		e := linkvault.ErrMFARequired(pe.Code == "mfa_invalid")
		e.Err = err
		return e
	case linkvault.ProviderUnsupported:
		e := linkvault.ErrNotSupported("This operation")
		e.Err = err
		return e
	}
	refused.Err = err
	return refused
}

// isClientSafe reports whether err is an expected outcome to show the user rather than
// an internal failure.
func isClientSafe(err error) bool {
	var e *linkvault.Error
	return errors.As(err, &e) && e.Status != linkvault.StatusServerFailure || linkvault.ErrorType(err) == linkvault.ErrTypeProviderFailure
}
