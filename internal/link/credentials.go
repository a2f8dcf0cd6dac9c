package link

import (
	"context"
	"errors"
	"strings"

	"github.com/linkvault/linkvault"
)

// ConnectAPIKey connects an API-key integration (Binance) with the key and secret the
// user created at the exchange, or re-authenticates the connection tokenID of this
// session's user (the tokenId stays). The provider checks the key works and carries
// the permissions of the session's scope and no more; each way it can fall short has
// its own error type, so the page can say exactly what to change at the exchange.
func (s *Service) ConnectAPIKey(ctx context.Context, sess *linkvault.LinkSession, broker linkvault.BrokerType, key string, secret linkvault.Secret, tokenID string) (*AccessTokenPayload, error) {
	p, in, ok := s.integration(broker)
	if !ok {
		return nil, errUnsupported()
	}
	kp, ok := p.(linkvault.APIKeyProvider)
	if !ok || (sess.Options.BrokerType != "" && broker != sess.Options.BrokerType) {
		return nil, errUnsupported()
	}
	key = strings.TrimSpace(key)
	if key == "" || secret.IsZero() {
		return nil, linkvault.ErrInvalid("apiKey and apiSecret are required.")
	}
	if len(key) > 256 || len(secret.Reveal()) > 256 {
		return nil, ErrInvalidAPIKey()
	}
	if tokenID != "" {
		if _, err := s.ownConnection(ctx, sess, tokenID, broker); err != nil {
			return nil, err
		}
	}
	cred, err := kp.ConnectAPIKey(ctx, linkvault.APIKeyRequest{Key: key, Secret: secret, Scope: sess.Permission})
	if err != nil {
		return nil, apiKeyFailure(err)
	}
	return s.connect(ctx, sess, p, in, tokenID, cred)
}

// apiKeyFailure words why a key was not accepted.
func apiKeyFailure(err error) error {
	var pe *linkvault.ProviderError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Kind {
	case linkvault.ProviderReauth:
		e := ErrInvalidAPIKey()
		e.Err = err
		return e
	case linkvault.ProviderRejected:
		if e := errAPIKeyPermissions(pe.Code); e != nil {
			e.Err = err
			return e
		}
	}
	return providerFailure(err, ErrInvalidAPIKey())
}
