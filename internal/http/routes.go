package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/api"
)

var openAPIDocument = api.OpenAPI()

// serveOpenAPI answers GET /openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*") // a public document: API explorers may fetch it
	h["X-Content-Type-Options"] = headerNoSniff
	_, _ = w.Write(openAPIDocument)
}

// routes registers every endpoint. Handlers of each area live in their own file.
func (s *Server) routes(mux *routeMux) {
	// Health, metrics and profiles are on the admin listener only (admin.go).

	// The OpenAPI 3.1 document of this API (api/openapi.json).
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)

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
