package link

import (
	"context"

	"github.com/linkvault/linkvault"
)

// LoginStep is the answer to a credentials step: either an MFA code is needed next,
// or the connection is made.
type LoginStep struct {
	MFARequired bool                `json:"mfaRequired"`
	Payload     *AccessTokenPayload `json:"payload,omitempty"`
}

// Login runs the first credentials step (username and password) for broker. When the
// provider asks for an MFA code, its challenge is sealed into the session (it never
// reaches the page) and MFARequired is answered. tokenID, when set, names a connection
// of this session's user to re-authenticate.
func (s *Service) Login(ctx context.Context, sess *linkvault.LinkSession, broker linkvault.BrokerType, username string, password linkvault.Secret, tokenID string) (*LoginStep, error) {
	p, in, ok := s.integration(broker)
	if !ok {
		return nil, errUnsupported()
	}
	cp, ok := p.(linkvault.CredentialsProvider)
	if !ok || (sess.Options.BrokerType != "" && broker != sess.Options.BrokerType) {
		return nil, errUnsupported()
	}
	if username == "" || password.IsZero() {
		return nil, linkvault.ErrInvalid("username and password are required.")
	}
	if len(username) > 320 || len(password.Reveal()) > 1024 {
		return nil, ErrInvalidCredentials()
	}
	if tokenID != "" {
		if _, err := s.ownConnection(ctx, sess, tokenID, broker); err != nil {
			return nil, err
		}
	}
	res, err := cp.Login(ctx, linkvault.LoginRequest{Username: username, Password: password})
	if err != nil {
		return nil, providerFailure(err, ErrInvalidCredentials())
	}
	if res.MFARequired {
		if err := s.sealStep(ctx, sess, step{Kind: stepMFA, Broker: broker, TokenID: tokenID, Challenge: res.Challenge}); err != nil {
			return nil, err
		}
		sess.StateKey, sess.Outcome = "", nil
		if err := s.store.UpdateLinkSession(ctx, sess); err != nil {
			return nil, err
		}
		return &LoginStep{MFARequired: true}, nil
	}
	payload, err := s.connect(ctx, sess, p, in, tokenID, res.Credential)
	if err != nil {
		return nil, err
	}
	return &LoginStep{Payload: payload}, nil
}

// SubmitMFA runs the MFA step of the pending login. A wrong code keeps the step so the
// user can type it again (ErrInvalidMFACode); a challenge the provider no longer
// accepts ends it (ErrMFAExpired).
func (s *Service) SubmitMFA(ctx context.Context, sess *linkvault.LinkSession, code linkvault.Secret) (*LoginStep, error) {
	st, ok := s.openStep(ctx, sess)
	if !ok || st.Kind != stepMFA {
		return nil, ErrNoPendingStep()
	}
	if code.IsZero() || len(code.Reveal()) > 64 {
		return nil, ErrInvalidMFACode()
	}
	p, in, ok := s.integration(st.Broker)
	if !ok {
		return nil, errUnsupported()
	}
	cp, ok := p.(linkvault.CredentialsProvider)
	if !ok {
		return nil, errUnsupported()
	}
	res, err := cp.Login(ctx, linkvault.LoginRequest{Challenge: st.Challenge, MFACode: code})
	switch {
	case err == nil && res.MFARequired:
		return nil, ErrInvalidMFACode()
	case linkvault.ProviderErrorKindOf(err) == linkvault.ProviderRejected:
		return nil, ErrInvalidMFACode()
	case linkvault.IsReauthRequired(err):
		clearStep(sess)
		if uerr := s.store.UpdateLinkSession(ctx, sess); uerr != nil {
			return nil, uerr
		}
		return nil, ErrMFAExpired()
	case err != nil:
		return nil, providerFailure(err, ErrMFAExpired())
	}
	clearStep(sess)
	if err := s.store.UpdateLinkSession(ctx, sess); err != nil {
		if linkvault.IsConflict(err) {
			return nil, ErrNoPendingStep()
		}
		return nil, err
	}
	payload, err := s.connect(ctx, sess, p, in, st.TokenID, res.Credential)
	if err != nil {
		return nil, err
	}
	return &LoginStep{Payload: payload}, nil
}
