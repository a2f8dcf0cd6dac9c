package http_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/api"
	"github.com/linkvault/linkvault/internal/apispec"
	lvhttp "github.com/linkvault/linkvault/internal/http"
)

// TestOpenAPIDocumentCoversEveryRoute: every route the public listener registers is an
// operation of api/openapi.json, every operation of the document is a route (or the
// admin listener's), and the server serves the document at /openapi.json.
func TestOpenAPIDocumentCoversEveryRoute(t *testing.T) {
	spec, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := lvhttp.NewServer(lvhttp.Config{}, lvhttp.Deps{})
	routes := srv.Routes()
	documented := map[string]bool{}
	for _, o := range spec.Operations() {
		documented[o.String()] = true
	}
	toOpenAPI := func(pattern string) string {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			return pattern // a method-less catch-all
		}
		return method + " " + strings.ReplaceAll(path, "...}", "}")
	}
	served := map[string]bool{}
	for _, r := range routes {
		if !strings.Contains(r, " ") {
			continue // "/api/" and "/link/api/": the not-found envelopes
		}
		op := toOpenAPI(r)
		served[op] = true
		if !documented[op] {
			t.Errorf("route %s is not in api/openapi.json", r)
		}
	}
	admin := []string{"GET /healthz", "GET /readyz", "GET /metrics"}
	for op := range documented {
		if !served[op] && !slices.Contains(admin, op) {
			t.Errorf("api/openapi.json documents %s, which the server does not route", op)
		}
	}

	res := httptest.NewRecorder()
	srv.Handler().ServeHTTP(res, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	body, _ := io.ReadAll(res.Body)
	if res.Code != http.StatusOK || res.Header().Get("Content-Type") != "application/json" || string(body) != string(api.OpenAPI()) {
		t.Fatalf("/openapi.json: %d %q (%d bytes)", res.Code, res.Header().Get("Content-Type"), len(body))
	}
}
