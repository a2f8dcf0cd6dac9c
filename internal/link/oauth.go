package link

import (
	"context"
	"errors"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/vault"
)

// OAuthStart is a started authorization-code round trip.
type OAuthStart struct {
	// AuthURL is the provider's consent URL (it carries the OAuth state).
	AuthURL string
	// Resume is, in ModeRedirect, the value the browser running the Link page keeps
	// (internal/http sets it as an HttpOnly cookie named after ResumeKey): the callback
	// renders the Link page again only in the browser that presents it. Zero in
	// ModePopup.
	Resume linkvault.Secret
	// ResumeKey names this attempt's resume value (see ResumeKey); empty in ModePopup.
	ResumeKey string
}

// ResumeKey is the public name of the resume value of the attempt whose OAuth state is
// state: a prefix of the state's digest, so the callback finds the value of its own
// attempt (several Link pages may share a browser) without a lookup.
func ResumeKey(state string) string { return digest(state)[:16] }

// StartOAuth begins an authorization-code round trip for broker in the page's
// session: it stores a fresh state and PKCE verifier (replacing any pending step and
// clearing the last outcome) and returns the provider's consent URL. tokenID, when
// set, names a connection of this session's user to re-authenticate; it keeps its
// tokenId. view is the page's display parameters (a query string such as
// "lng=es&th=dark"), handed back by CompleteOAuth so a page rendered anew after a
// full-page redirect looks the same.
//
// In ModeRedirect the page navigates to the consent URL itself. Where the consent
// page then runs is up to the host: a browser tab or a native SDK's WebView keeps it
// (the callback comes back into the same browser), while some SDKs hand exchange URLs
// to the system browser (docs/mobile.md). The page keeps its secret in both cases; the
// returned Resume value tells the callback which case it is in.
func (s *Service) StartOAuth(ctx context.Context, sess *linkvault.LinkSession, broker linkvault.BrokerType, tokenID, mode, view string) (*OAuthStart, error) {
	p, _, ok := s.integration(broker)
	if !ok {
		return nil, errUnsupported()
	}
	op, ok := p.(linkvault.OAuthProvider)
	if !ok {
		return nil, errUnsupported()
	}
	if sess.Options.BrokerType != "" && broker != sess.Options.BrokerType {
		return nil, errUnsupported()
	}
	if mode != ModeRedirect {
		mode = ModePopup
	}
	if len(view) > 512 {
		view = ""
	}
	if tokenID != "" {
		if _, err := s.ownConnection(ctx, sess, tokenID, broker); err != nil {
			return nil, err
		}
	}
	state := linkvault.NewRandomID(stateBytes)
	verifier := linkvault.NewRandomID(verifierBytes)
	st := step{Kind: stepOAuth, Broker: broker, TokenID: tokenID, Verifier: verifier, Mode: mode, View: view}
	out := &OAuthStart{}
	if mode == ModeRedirect {
		resume := linkvault.NewRandomID(resumeBytes)
		st.Resume = digest(resume)
		out.Resume, out.ResumeKey = linkvault.NewSecret(resume), ResumeKey(state)
	}
	if err := s.sealStep(ctx, sess, st); err != nil {
		return nil, err
	}
	sess.StateKey = digest(state)
	sess.Outcome = nil
	if err := s.store.UpdateLinkSession(ctx, sess); err != nil {
		return nil, err
	}
	out.AuthURL = op.AuthCodeURL(linkvault.AuthCodeRequest{State: state, CodeVerifier: verifier, RedirectURL: s.CallbackURL(), Scope: sess.Permission})
	return out, nil
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
	// Resumed is true in ModeRedirect when the callback runs in the browser that ran
	// the Link page (it presented the attempt's resume value): the callback renders
	// the Link page again there, with PageSecret. False when the consent ran in another
	// browser (a native SDK handed the exchange's URL to the system browser): the Link
	// page still open in the app keeps its secret and reads the outcome itself.
	Resumed bool
	// PageSecret is a fresh page secret when Resumed (the old page is gone: it
	// navigated to the exchange); zero otherwise.
	PageSecret linkvault.Secret
}

// CompleteOAuth handles the provider's redirect back: it finds the session by state
// (single use), exchanges the code with the stored PKCE verifier, lists the accounts
// and connects them through the vault, and records the outcome on the session, where
// the Link page reads it (PendingStatus). resume is the resume value the browser
// presented (see OAuthStart.Resume), "" when none. A failure after the state was
// recognised is recorded as the session's outcome and returned in Callback.Outcome
// with a nil error; an unknown, used or expired state is ErrStateInvalid.
func (s *Service) CompleteOAuth(ctx context.Context, state, code, providerError, resume string) (*Callback, error) {
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
	if !s.now().Before(sess.ExpiresAt) || !sameDigest(sess.StateKey, digest(state)) {
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
	cb.Resumed = st.Mode == ModeRedirect && st.Resume != "" && resume != "" && plausibleBearer(resume) && sameDigest(st.Resume, digest(resume))
	payload, err := s.exchange(ctx, sess, st, code, providerError)
	if err != nil {
		if !isClientSafe(err) {
			return nil, err
		}
		cb.Outcome = failedOutcome(err)
	} else {
		cb.Outcome = Outcome{Status: OutcomeConnected, Payload: payload, Reauthenticated: st.TokenID != ""}
	}
	cb.Outcome.BrokerType = st.Broker
	if cb.Resumed {
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
	if e, ok := pe.CommonError(err); ok {
		return e
	}
	if pe.Kind == linkvault.ProviderTransient {
		return linkvault.ErrProviderUnavailable(pe.RetryAfter)
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
