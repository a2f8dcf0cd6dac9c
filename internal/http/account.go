package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
)

// tokenRequest is the body of the calls that address a connection: {authToken, type}.
type tokenRequest struct {
	AuthToken string `json:"authToken"`
	Type      string `json:"type"`
}

// parseTokenRequest decodes and validates a {authToken, type} body.
func (s *Server) parseTokenRequest(r *http.Request) (tokenRequest, linkvault.BrokerType, error) {
	var req tokenRequest
	if err := s.decodeJSON(r, &req); err != nil {
		return req, "", err
	}
	if req.AuthToken == "" {
		return req, "", linkvault.ErrInvalid("authToken is required.")
	}
	if req.Type == "" {
		return req, "", linkvault.ErrInvalid("type is required.")
	}
	bt, err := linkvault.ParseBrokerType(req.Type)
	return req, bt, err
}

// handleRemoveAccount is DELETE /api/v1/account: revoke at the provider where
// supported, then physically delete. Any later use of the tokenId is "not found".
func (s *Server) handleRemoveAccount(w http.ResponseWriter, r *http.Request) error {
	req, bt, err := s.parseTokenRequest(r)
	if err != nil {
		return err
	}
	p := principal(r.Context())
	if err := s.deps.Vault.Remove(r.Context(), p.ClientID, req.AuthToken, bt); err != nil {
		return err
	}
	writeOK(w, map[string]any{"status": "succeeded"})
	return nil
}
