package http_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	lvhttp "github.com/linkvault/linkvault/internal/http"
)

// BenchmarkObserve measures what the per-route request metrics add to a request (tracing
// off, as by default): the same unmatched /api/ request through a server with and
// without a metrics registry. Run with -benchmem: both report the same allocs/op (the
// route's series are resolved at start-up).
func BenchmarkObserve(b *testing.B) {
	for _, bc := range []struct {
		name string
		reg  prometheus.Registerer
	}{{"no-metrics", nil}, {"metrics", prometheus.NewRegistry()}} {
		b.Run(bc.name, func(b *testing.B) {
			h := lvhttp.NewServer(lvhttp.Config{}, lvhttp.Deps{Registerer: bc.reg}).Handler()
			req := httptest.NewRequest(http.MethodGet, "/api/v1/nowhere", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
			}
		})
	}
}
