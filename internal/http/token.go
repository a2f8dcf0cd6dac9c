package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/linkvault/linkvault"
)

// tokenStatus is the content of POST /api/v1/managed/token/get.
type tokenStatus struct {
	TokenID          string              `json:"tokenId"`
	BrokerType       string              `json:"brokerType"`
	Scope            string              `json:"scope"`
	Status           string              `json:"status"` // active | reauthRequired
	Accounts         []linkvault.Account `json:"accounts"`
	ExpiresInSeconds optSeconds          `json:"expiresInSeconds"` // null: no known expiry
	Refreshable      bool                `json:"refreshable"`
	CreatedAt        time.Time           `json:"createdAt"`
	UpdatedAt        time.Time           `json:"updatedAt"`
}

// handleTokenStatus is POST /api/v1/managed/token/get {authToken, type}: a linkvault
// extension (not part of the Mesh contract) that tells the app whether a stored tokenId
// is usable or needs the user to re-authenticate, without calling the exchange. It
// resolves and opens the credential, so an unreadable credential is reported too.
func (s *Server) handleTokenStatus(w http.ResponseWriter, r *http.Request) error {
	t, err := s.parseTokenRequest(r)
	if err != nil {
		return err
	}
	p := principal(r.Context())
	// Only read: the cached connection is not copied (vault.Service.Peek).
	res, err := s.deps.Vault.Peek(r.Context(), p.ClientID, t.TokenID)
	if err != nil {
		return err
	}
	c := res.Connection
	if c.BrokerType != t.Broker {
		return linkvault.ErrTokenNotFound()
	}
	st := tokenStatus{
		TokenID: c.TokenID, BrokerType: string(c.BrokerType), Scope: string(c.Scope), Status: "active",
		Accounts: c.Accounts, Refreshable: res.Credential.CanRefresh(), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if st.Accounts == nil {
		st.Accounts = []linkvault.Account{}
	}
	if c.Status == linkvault.StatusReauthRequired {
		st.Status = "reauthRequired"
	}
	if exp := res.Credential.Expiry; !exp.IsZero() {
		st.ExpiresInSeconds = optSeconds{n: int64(exp.Sub(s.now()) / time.Second), known: true}
	}
	writeOKFast(w, func() any { return st }, st.appendJSON)
	return nil
}

// optSeconds is a number of seconds, or JSON null when not known: a value rather than
// a pointer, so that a token status (which points to nothing on the stack) is not moved
// to the heap to be answered.
type optSeconds struct {
	n     int64
	known bool
}

func (o optSeconds) appendJSON(dst []byte) []byte {
	if !o.known {
		return append(dst, "null"...)
	}
	return strconv.AppendInt(dst, o.n, 10)
}

// MarshalJSON encodes o as appendJSON does (for the encoding/json fallback).
func (o optSeconds) MarshalJSON() ([]byte, error) { return o.appendJSON(nil), nil }
