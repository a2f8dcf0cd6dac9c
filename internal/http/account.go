package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// tokenRequest is the body of the calls that address a connection: {authToken, type}.
type tokenRequest struct {
	AuthToken string `json:"authToken"`
	Type      string `json:"type"`
}

// parseTokenRequest decodes and validates a {authToken, type} body.
func (s *Server) parseTokenRequest(r *http.Request) (account.Target, error) {
	var req tokenRequest
	if err := s.decodeJSON(r, &req); err != nil {
		return account.Target{}, err
	}
	if req.AuthToken == "" {
		return account.Target{}, linkvault.ErrInvalid("authToken is required.")
	}
	if req.Type == "" {
		return account.Target{}, linkvault.ErrInvalid("type is required.")
	}
	bt, err := linkvault.ParseBrokerType(req.Type)
	return account.Target{TokenID: req.AuthToken, Broker: bt}, err
}

// handleRemove is DELETE /api/v1/account: revoke at the provider where supported,
// then physically delete. Any later use of the tokenId is "not found".
func (a *accountAPI) handleRemove(w http.ResponseWriter, r *http.Request) error {
	t, err := a.s.parseTokenRequest(r)
	if err != nil {
		return err
	}
	if err := a.s.account.Remove(r.Context(), caller(r), t); err != nil {
		return err
	}
	writeOK(w, nil) // Mesh's answer is a bare ApiResult (closed, no content)
	return nil
}
