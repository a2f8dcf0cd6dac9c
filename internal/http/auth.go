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
		ip := clientIP(r)
		if err := s.limits.checkIP(ip); err != nil {
			writeErrorEnvelope(w, err)
			return
		}
		clientID := r.Header.Get("X-Client-Id")
		secret := linkvault.NewSecret(r.Header.Get("X-Client-Secret"))
		if clientID == "" || secret.IsZero() {
			writeErrorEnvelope(w, s.limits.authFailed(ip, clientID, &linkvault.Error{Status: linkvault.StatusUnauthorized,
				Type: linkvault.ErrTypeUnauthorized, Message: "X-Client-Id and X-Client-Secret headers are required."}))
			return
		}
		p, err := s.deps.Auth.Authenticate(r.Context(), clientID, secret)
		if err != nil {
			if linkvault.ErrorStatus(err) == linkvault.StatusUnauthorized {
				err = s.limits.authFailed(ip, clientID, err)
			}
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
