package http

import (
	"context"
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/telemetry"
)

// requestState is a request's one context value (telemetry.RequestState): its id, as
// the slice the X-Request-Id response header holds, and, once authenticated, the API
// caller. The caller is stored in it rather than in a context of its own, so that
// authentication does not copy the request a second time (docs/benchmarks.md, issue 19).
type requestState struct {
	id        [1]string
	principal *clients.Principal
}

func (st *requestState) RequestID() string { return st.id[0] }

// stateOf is the requestState of ctx, or nil outside the server's handler chain.
func stateOf(ctx context.Context) *requestState {
	st, _ := telemetry.RequestStateOf(ctx).(*requestState)
	return st
}

// principal returns the authenticated caller of an API request.
func principal(ctx context.Context) *clients.Principal {
	if st := stateOf(ctx); st != nil {
		return st.principal
	}
	return nil
}

// withPrincipal returns ctx with p as the caller (in a new requestState that keeps
// ctx's request id).
func withPrincipal(ctx context.Context, p *clients.Principal) context.Context {
	st := &requestState{principal: p}
	if old := stateOf(ctx); old != nil {
		st.id = old.id
	}
	return telemetry.WithRequestState(ctx, st)
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
		if st := stateOf(r.Context()); st != nil && st.principal == nil {
			// Set once, before the handler runs, on the state observe made for this
			// request: no second request copy.
			st.principal = p
		} else {
			r = r.WithContext(withPrincipal(r.Context(), p))
		}
		if err := h(w, r); err != nil {
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
