package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
)

// routes registers every endpoint. Handlers of each area live in their own file.
func (s *Server) routes(mux *routeMux) {
	// Health, metrics and profiles are on the admin listener only (admin.go).

	// Managed tokens.
	mux.Handle("POST /api/v1/managed/token/get", s.api(linkvault.PermissionRead, s.handleTokenStatus))

	// Managed-account API: removal, holdings, balance, transfers, catalog, status
	// (api_*.go, account.go), all through the account service.
	s.routeAccountAPI(mux)

	// Link: POST /api/v1/linktoken, the Link UI and its JSON calls, the web SDK (link*.go).
	s.routeLink(mux)

	// Anything else under /api is a clear envelope error, not the mux's text answer.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErrorEnvelope(w, linkvault.ErrNotFound("Endpoint"))
	})
}
