package http

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
)

// use is one call that presents a tokenId, and its audit entry.
//
// What is audited: every request that got past authentication and input validation and
// therefore presented a tokenId: successes and every failure (not found, scope
// mismatch, re-auth required, provider errors...). Requests refused earlier (bad
// credentials, read-only key on a write endpoint, malformed input) touch no tokenId and
// are not. The entry names the tokenId only once it resolved to one of the caller's
// connections; otherwise only its fingerprint is kept (see linkvault.AuditEntry).
type use struct {
	tokenID string
	entry   linkvault.AuditEntry
}

// begin starts the audit of a use of tokenID by the request's principal.
func (s *Server) begin(r *http.Request, action, tokenID string, broker linkvault.BrokerType) *use {
	p := principal(r.Context())
	return &use{tokenID: tokenID, entry: linkvault.AuditEntry{
		ClientID: p.ClientID, KeyID: p.KeyID, TokenRef: linkvault.TokenFingerprint(tokenID),
		BrokerType: broker, Action: action, CreatedAt: s.now(),
	}}
}

// end records the outcome of u and returns err unchanged, so handlers can
// `return s.end(ctx, u, err)`.
func (s *Server) end(ctx context.Context, u *use, err error) error {
	rec := s.deps.API.Audit
	if rec == nil {
		return err
	}
	e := u.entry
	e.Duration = s.now().Sub(e.CreatedAt)
	if err == nil {
		e.Outcome, e.HTTPStatus = audit.OutcomeOK, http.StatusOK
	} else {
		e.Outcome, e.HTTPStatus = linkvault.ErrorType(err), StatusCode(err)
	}
	rec.Record(ctx, e)
	return err
}

// withRemoveAudit wraps the DELETE /api/v1/account handler so that every removal
// attempt is audited like the other uses of a tokenId. It reads the {authToken, type}
// body ahead of the handler (restoring it) to learn the tokenId; a successful removal
// is recorded with the tokenId (it was the client's), a failed one by fingerprint.
// Wire it as s.api(linkvault.PermissionRead, s.withRemoveAudit(s.handleRemoveAccount)).
func (s *Server) withRemoveAudit(h func(w http.ResponseWriter, r *http.Request) error) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.deps.API.Audit == nil {
			return h(w, r)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return h(w, r) // the handler reports the unreadable body itself
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req tokenRequest
		if decodeJSONBody(bytes.NewReader(body), &req) != nil || req.AuthToken == "" {
			return h(w, r) // invalid input: nothing presented, nothing audited
		}
		bt, err := linkvault.ParseBrokerType(req.Type)
		if err != nil {
			return h(w, r)
		}
		u := s.begin(r, audit.ActionRemove, req.AuthToken, bt)
		err = h(w, r)
		if err == nil {
			u.entry.TokenID = req.AuthToken
		}
		return s.end(r.Context(), u, err)
	}
}
