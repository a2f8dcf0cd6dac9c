package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
)

// accountAPI serves the Mesh-compatible calls that use a tokenId, and the catalog.
// Read endpoints take read or write keys; the transfer endpoints need a write key and a
// write-scoped tokenId.
type accountAPI struct {
	s      *Server
	deps   APIDeps
	health *healthTracker
}

// routeAccountAPI registers the managed-account API on mux.
func (s *Server) routeAccountAPI(mux *http.ServeMux) {
	deps := s.deps.API.withDefaults()
	a := &accountAPI{s: s, deps: deps, health: newHealthTracker(s.deps.Providers, s.now, deps.StatusTTL, s.log)}
	mux.Handle("POST /api/v1/holdings/get", s.api(linkvault.PermissionRead, a.handleHoldings))
	mux.Handle("POST /api/v1/balance/get", s.api(linkvault.PermissionRead, a.handleBalance))
	mux.Handle("GET /api/v1/integrations", s.api(linkvault.PermissionRead, a.handleIntegrations))
	mux.Handle("GET /api/v1/status", s.api(linkvault.PermissionRead, a.handleStatus))
	mux.Handle("POST /api/v1/transfers/managed/preview", s.api(linkvault.PermissionWrite, a.handlePreviewTransfer))
	mux.Handle("POST /api/v1/transfers/managed/execute", s.api(linkvault.PermissionWrite, a.handleExecuteTransfer))
}
