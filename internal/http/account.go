package http

import (
	"context"
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// tokenRequest is the body of the calls that address a connection: {authToken, type}.
type tokenRequest struct {
	AuthToken string `json:"authToken"`
	Type      string `json:"type"`
}

// decodeTokenRequest decodes a {authToken, type} body: the common shape through
// parseTokenBody, anything else through encoding/json and the text checks.
func (s *Server) decodeTokenRequest(r *http.Request) (tokenRequest, error) {
	if err := checkJSONContentType(r); err != nil {
		return tokenRequest{}, err
	}
	data, buf, err := readBody(r)
	if err != nil {
		return tokenRequest{}, err
	}
	defer releaseBody(buf)
	if req, ok := parseTokenBody(data); ok {
		return req, nil
	}
	var req tokenRequest
	err = decodeJSONData(data, &req)
	return req, err
}

// parseTokenRequest decodes and validates a {authToken, type} body.
func (s *Server) parseTokenRequest(r *http.Request) (account.Target, error) {
	req, err := s.decodeTokenRequest(r)
	if err != nil {
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

// tokenCall decodes and validates a {authToken, type} body and calls op, as the
// request's caller, on the account it names.
func tokenCall[T any](s *Server, r *http.Request, op func(context.Context, account.Caller, account.Target) (T, error)) (T, error) {
	t, err := s.parseTokenRequest(r)
	if err != nil {
		var none T
		return none, err
	}
	return op(r.Context(), caller(r), t)
}

// HeaderRevocation carries the revocation state of DELETE /api/v1/account's answer
// (a linkvault.RevocationState), for clients that read headers rather than the message.
const HeaderRevocation = "Linkvault-Revocation"

// handleRemove is DELETE /api/v1/account: physically delete (any later use of the
// tokenId is "not found") and revoke the grant at the exchange. Mesh's answer is a bare
// ApiResult (no content, additionalProperties false), so the revocation state travels
// in its message and in the Linkvault-Revocation header: revoked, revocationPending
// (the queue keeps trying; connection.revoked follows), revocationUnsupported,
// revocationUnreadable or revocationRefused.
func (a *accountAPI) handleRemove(w http.ResponseWriter, r *http.Request) error {
	state, err := tokenCall(a.s, r, a.s.account.Remove)
	if err != nil {
		return err
	}
	w.Header().Set(HeaderRevocation, string(state))
	writeEnvelope(w, http.StatusOK, Envelope{Status: linkvault.StatusOK, Message: string(state)})
	return nil
}
