package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// accountAPI serves the Mesh-compatible calls that use a tokenId, and the catalog.
// Every handler is decode → call the account service → encode. Read endpoints take
// read or write keys; the transfer endpoints need a write key (and the service a
// write-scoped tokenId).
type accountAPI struct {
	s *Server
}

// routeAccountAPI registers the managed-account API on mux.
func (s *Server) routeAccountAPI(mux *http.ServeMux) {
	a := &accountAPI{s: s}
	mux.Handle("DELETE /api/v1/account", s.api(linkvault.PermissionRead, a.withAccount(a.handleRemove)))
	mux.Handle("POST /api/v1/holdings/get", s.api(linkvault.PermissionRead, a.withAccount(a.handleHoldings)))
	mux.Handle("POST /api/v1/balance/get", s.api(linkvault.PermissionRead, a.withAccount(a.handleBalance)))
	mux.Handle("GET /api/v1/integrations", s.api(linkvault.PermissionRead, a.handleIntegrations))
	mux.Handle("GET /api/v1/status", s.api(linkvault.PermissionRead, a.withAccount(a.handleStatus)))
	mux.Handle("POST /api/v1/transfers/managed/preview", s.api(linkvault.PermissionWrite, a.withAccount(a.handlePreviewTransfer)))
	mux.Handle("POST /api/v1/transfers/managed/execute", s.api(linkvault.PermissionWrite, a.withAccount(a.handleExecuteTransfer)))
}

// withAccount answers a clear error when the server has no account service.
func (a *accountAPI) withAccount(h func(w http.ResponseWriter, r *http.Request) error) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if a.s.account == nil {
			return errAccountUnavailable()
		}
		return h(w, r)
	}
}

// caller is the account-service caller of an authenticated API request.
func caller(r *http.Request) account.Caller {
	p := principal(r.Context())
	return account.Caller{ClientID: p.ClientID, KeyID: p.KeyID, Permission: p.Permission}
}
