package http

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/linkvault/linkvault/internal/telemetry"
)

// RequestIDHeader carries a request's id: a sane incoming value is kept (a proxy or the
// app may set it), otherwise the server makes one; the answer always carries it, and
// so does every log line written for the request.
const RequestIDHeader = "X-Request-Id"

// routeMux is the server's ServeMux, remembering the patterns registered on it so that
// every route's metrics exist from start-up.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

func (m *routeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// unmatchedRoute labels requests no pattern matched.
const unmatchedRoute = "unmatched"

// httpMetrics are the per-route request metrics. Each route's series are resolved once,
// at start-up, so a request costs a map lookup by its pattern and two atomic updates.
type httpMetrics struct {
	requests *prometheus.CounterVec   // route, code (status class: 2xx...)
	duration *prometheus.HistogramVec // route
	routes   map[string]*routeMetrics // read-only after newHTTPMetrics
}

type routeMetrics struct {
	byClass [6]prometheus.Counter // index status/100; 0 holds anything out of range
	latency prometheus.Observer
}

var statusClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func newHTTPMetrics(reg prometheus.Registerer, patterns []string) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "linkvault", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered on the public listener, by route pattern and status class (2xx, 4xx...).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "linkvault", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests on the public listener, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		routes: make(map[string]*routeMetrics, len(patterns)+1),
	}
	for _, p := range append(patterns, unmatchedRoute) {
		rm := &routeMetrics{latency: m.duration.WithLabelValues(p)}
		for i, class := range statusClasses {
			rm.byClass[i] = m.requests.WithLabelValues(p, class)
		}
		m.routes[p] = rm
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *httpMetrics) observe(pattern string, status int, d time.Duration) {
	rm, ok := m.routes[pattern]
	if !ok {
		rm = m.routes[unmatchedRoute]
	}
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	rm.byClass[class].Inc()
	rm.latency.Observe(d.Seconds())
}

// requestIDs makes request ids: a random per-process prefix and a counter, unique
// across replicas without a random read per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &requestIDs{prefix: hex.EncodeToString(b) + "-"}
}

func (g *requestIDs) next() string {
	var buf [32]byte
	out := append(buf[:0], g.prefix...)
	return string(strconv.AppendUint(out, g.n.Add(1), 36))
}

// saneRequestID reports whether an incoming X-Request-Id can be kept: 1 to 128 bytes of
// letters, digits and -_.:/+=@ (no spaces, quotes or control characters to forge log
// lines with).
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

// observe is the outermost handler: it gives each request its id (header, context for
// logs), a server span when tracing is on (continuing an incoming W3C traceparent),
// counts it in the per-route metrics, and logs it at debug level with its duration in
// milliseconds. It logs and labels the route pattern, never the raw path or query
// (Link session ids and OAuth codes travel there).
func (s *Server) observe(next http.Handler) http.Handler {
	var tracer trace.Tracer
	if s.deps.Tracer != nil {
		tracer = s.deps.Tracer.Tracer(telemetry.ScopeName)
	}
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = s.ids.next()
		}
		st := &requestState{id: [1]string{id}}
		// The header's value is the state's array (one allocation for both); the key is
		// canonical already, so no Set work.
		w.Header()[RequestIDHeader] = st.id[:]
		ctx := telemetry.WithRequestState(r.Context(), st)
		var span trace.Span
		if tracer != nil {
			ctx = prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span = tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("linkvault.request_id", id),
			))
		}
		r = r.WithContext(ctx)
		rec := recorders.Get().(*statusRecorder)
		rec.ResponseWriter, rec.code = w, http.StatusOK
		defer func() {
			rec.ResponseWriter = nil
			recorders.Put(rec)
		}()

		next.ServeHTTP(rec, r)

		elapsed := time.Since(start)
		route := r.Pattern
		if s.metrics != nil {
			s.metrics.observe(route, rec.code, elapsed)
		}
		if span != nil {
			if route != "" {
				span.SetName(route)
				span.SetAttributes(attribute.String("http.route", route))
			}
			span.SetAttributes(attribute.Int("http.response.status_code", rec.code))
			if rec.code >= 500 {
				span.SetStatus(codes.Error, "")
			}
			span.End()
		}
		if s.log.Enabled(ctx, slog.LevelDebug) {
			s.log.DebugContext(ctx, "request", "method", r.Method, "route", route,
				"status", rec.code, "duration_ms", telemetry.Milliseconds(elapsed))
		}
	})
}
