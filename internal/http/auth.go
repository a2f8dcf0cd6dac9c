package http

import (
	"context"
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
)

type principalKey struct{}

// principal returns the authenticated caller of an API request.
func principal(ctx context.Context) *clients.Principal {
	p, _ := ctx.Value(principalKey{}).(*clients.Principal)
	return p
}

// withPrincipal stores p in ctx (for handlers and tests).
func withPrincipal(ctx context.Context, p *clients.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// api wraps an API handler: it authenticates X-Client-Id / X-Client-Secret, checks the
// key's permission against need, bounds the body, and writes any returned error as an
// envelope.
func (s *Server) api(need linkvault.Permission, h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !p.Permission.Allows(need) {
			writeErrorEnvelope(w, &linkvault.Error{Status: linkvault.StatusPermissionDenied, Type: linkvault.ErrTypeReadOnlyKey,
				Message: "This API key has read permission; this endpoint needs a key with write permission."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.BodyLimit)
		if err := h(w, r.WithContext(withPrincipal(r.Context(), p))); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticate checks the request's API credentials. The credentials are always
// checked, so a valid secret is never refused; only failures are counted, per source
// address and client id, and a source over its budget gets 429 for further failures.
func (s *Server) authenticate(r *http.Request) (*clients.Principal, error) {
	clientID := r.Header.Get("X-Client-Id")
	secret := linkvault.NewSecret(r.Header.Get("X-Client-Secret"))
	var err error
	switch {
	case clientID == "" || secret.IsZero():
		err = &linkvault.Error{Status: linkvault.StatusUnauthorized, Type: linkvault.ErrTypeUnauthorized,
			Message: "X-Client-Id and X-Client-Secret headers are required."}
	case linkvault.ValidateClientID(clientID) != nil:
		// No client can have this id; it is not looked up, and it is counted under the
		// empty id so the failure table's keys stay short.
		clientID, err = "", clients.ErrUnauthorized()
	default:
		var p *clients.Principal
		if p, err = s.deps.Auth.Authenticate(r.Context(), clientID, secret); err == nil {
			return p, nil
		}
	}
	if linkvault.ErrorStatus(err) == linkvault.StatusUnauthorized {
		err = s.limits.authFailed(s.limits.sourceOf(r), clientID, err)
	}
	return nil, err
}
