package http

import (
	"net/http"
	"slices"
	"strings"

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
	mux.HandleFunc("/api/", s.unrouted)
}

// unrouted answers a request no route took: 405 with Allow when its path is an
// endpoint of other methods, else 404. Both are envelopes.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	if allow, ok := s.allow[r.URL.Path]; ok {
		w.Header().Set("Allow", allow)
		writeErrorEnvelope(w, &linkvault.Error{Status: linkvault.StatusBadRequest, Type: linkvault.ErrTypeMethodNotAllowed,
			Message: "This endpoint does not take that HTTP method; it takes " + allow + "."})
		return
	}
	writeErrorEnvelope(w, linkvault.ErrNotFound("Endpoint"))
}

// allowedMethods maps the path of every method-bound pattern without wildcards to the
// methods registered for it, as an Allow header value ("GET, HEAD"; a GET route also
// answers HEAD).
func allowedMethods(patterns []string) map[string]string {
	byPath := map[string][]string{}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || strings.Contains(path, "{") {
			continue
		}
		byPath[path] = append(byPath[path], method)
		if method == http.MethodGet {
			byPath[path] = append(byPath[path], http.MethodHead)
		}
	}
	allow := make(map[string]string, len(byPath))
	for path, methods := range byPath {
		slices.Sort(methods)
		allow[path] = strings.Join(slices.Compact(methods), ", ")
	}
	return allow
}
