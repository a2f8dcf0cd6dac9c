package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// observedApp is a started server on SQLite (opened by the app itself, so its
// statements are traced) and the simulated exchanges, with spans recorded in memory and
// the log captured in JSON at debug level.
type observedApp struct {
	*app.App
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	log    *syncBuffer
	secret string
}

func startObserved(t *testing.T) *observedApp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg := config.Default()
	cfg.ListenAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Database.SQLitePath = filepath.Join(t.TempDir(), "lv.db")
	cfg.Providers = app.SimulatedProviders(cfg.Providers, sim)
	cfg.Refresh.Enabled = false
	cfg.Log.Level, cfg.Log.Format = slog.LevelDebug, config.LogFormatJSON
	master := envelopetest.MasterKeyring(t)
	o := &observedApp{spans: tracetest.NewInMemoryExporter(), log: newSyncBuffer()}
	o.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(o.spans))
	a, err := app.New(ctx, &cfg, app.Options{Logger: app.NewLogger(&cfg, o.log), MasterKeyring: master, TracerProvider: o.tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	o.App = a
	if _, err := a.Clients.CreateClient(ctx, "shop", "Shop"); err != nil {
		t.Fatal(err)
	}
	k, err := a.Clients.CreateKey(ctx, "shop", linkvault.PermissionWrite)
	if err != nil {
		t.Fatal(err)
	}
	o.secret = k.Secret.Reveal()
	return o
}

// call makes an API request as the client and returns the response and its body.
func (o *observedApp) call(t *testing.T, method, path, body string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, o.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Id", "shop")
	req.Header.Set("X-Client-Secret", o.secret)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// connect runs a Link connect of a Coinbase account and returns its tokenId.
func (o *observedApp) connect(t *testing.T) string {
	t.Helper()
	res, body := o.call(t, http.MethodPost, "/api/v1/linktoken", `{"userId":"u1"}`, nil)
	var lt struct {
		Content struct {
			LinkToken string `json:"linkToken"`
		} `json:"content"`
	}
	if err := json.Unmarshal(body, &lt); err != nil || res.StatusCode != 200 {
		t.Fatalf("linktoken: %d %s", res.StatusCode, body)
	}
	p, err := linktest.Connect(context.Background(), nil, lt.Content.LinkToken, string(linkvault.BrokerCoinbase), "u1", exchangesim.DefaultPassword)
	if err != nil {
		t.Fatal(err)
	}
	return p.AccountTokens[0].TokenID
}

// TestTracingSpansHTTPStoreAndProviderCalls: with a tracer provider, a holdings call
// is one trace: the server span (named by its route, continuing the caller's W3C
// traceparent), the database statements it ran, and the calls to the exchange, each a
// child in that trace. No span carries the API secret, the tokenId or SQL arguments.
func TestTracingSpansHTTPStoreAndProviderCalls(t *testing.T) {
	o := startObserved(t)
	tokenID := o.connect(t)
	o.spans.Reset()

	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	res, body := o.call(t, http.MethodPost, "/api/v1/holdings/get", `{"authToken":"`+tokenID+`","type":"coinbase"}`,
		http.Header{"Traceparent": {traceparent}})
	if res.StatusCode != 200 {
		t.Fatalf("holdings: %d %s", res.StatusCode, body)
	}
	_ = o.tp.ForceFlush(context.Background())
	spans := o.spans.GetSpans()
	wantTrace := "4bf92f3577b34da6a3ce929d0e0e4736"
	var server *tracetest.SpanStub
	var db, provider int
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	for i, s := range spans {
		if s.SpanContext.TraceID().String() != wantTrace {
			t.Errorf("span %q is in trace %s, not the caller's %s", s.Name, s.SpanContext.TraceID(), wantTrace)
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			v := a.Value.String()
			attrs[string(a.Key)] = v
			if strings.Contains(v, tokenID) || strings.Contains(v, o.secret) {
				t.Errorf("span %q attribute %s holds the tokenId or the API secret", s.Name, a.Key)
			}
		}
		switch {
		case s.SpanKind == trace.SpanKindServer:
			server = &spans[i]
			if s.Name != "POST /api/v1/holdings/get" || attrs["http.route"] != s.Name || attrs["http.response.status_code"] != "200" {
				t.Errorf("server span %q %v", s.Name, attrs)
			}
			if s.Parent.SpanID().String() != "00f067aa0ba902b7" {
				t.Errorf("server span's parent %s, want the caller's span", s.Parent.SpanID())
			}
		case attrs["db.system.name"] == "sqlite":
			db++
			if !regexp.MustCompile(`^(SELECT|INSERT|UPDATE|DELETE)( \w+)?$`).MatchString(s.Name) || attrs["db.query.text"] == "" {
				t.Errorf("statement span %q %v", s.Name, attrs)
			}
		case attrs["server.address"] != "":
			provider++
			if attrs["http.request.method"] == "" || attrs["http.response.status_code"] == "" {
				t.Errorf("provider span %q %v", s.Name, attrs)
			}
		}
	}
	if server == nil || db == 0 || provider == 0 {
		t.Fatalf("spans: server %v, %d statements, %d provider calls; want all three (%d spans)", server != nil, db, provider, len(spans))
	}
	// Every span descends from the server span.
	for _, s := range spans {
		cur := s
		for cur.SpanContext.SpanID() != server.SpanContext.SpanID() {
			parent, ok := byID[cur.Parent.SpanID()]
			if !ok {
				t.Errorf("span %q does not descend from the request's server span", s.Name)
				break
			}
			cur = parent
		}
	}
}

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{12}-[0-9a-z]+$`)

// TestRequestIDs: every answer carries X-Request-Id (a sane incoming one is kept, any
// other replaced), and every log line written for the request carries it as request_id
// with the trace's ids; durations are logged in milliseconds.
func TestRequestIDs(t *testing.T) {
	o := startObserved(t)
	res, _ := o.call(t, http.MethodGet, "/api/v1/integrations", "", nil)
	generated := res.Header.Get("X-Request-Id")
	if !requestIDRE.MatchString(generated) {
		t.Fatalf("X-Request-Id %q", generated)
	}
	for _, tc := range []struct{ in, want string }{
		{"app-7f3a:42", "app-7f3a:42"},
		{"with space", ""},
		{"quote\"d", ""},
		{strings.Repeat("a", 129), ""},
	} {
		res, _ := o.call(t, http.MethodGet, "/api/v1/integrations", "", http.Header{"X-Request-Id": {tc.in}})
		got := res.Header.Get("X-Request-Id")
		if tc.want != "" && got != tc.want {
			t.Errorf("incoming %q: answered %q, want it kept", tc.in, got)
		}
		if tc.want == "" && (got == tc.in || !requestIDRE.MatchString(got)) {
			t.Errorf("incoming %q: answered %q, want a new id", tc.in, got)
		}
	}
	// A request that logs more than its access line: an unknown tokenId.
	res, _ = o.call(t, http.MethodPost, "/api/v1/holdings/get", `{"authToken":"nope","type":"coinbase"}`, http.Header{"X-Request-Id": {"req-under-test"}})
	if res.Header.Get("X-Request-Id") != "req-under-test" {
		t.Fatal("the incoming request id was not kept")
	}
	var lines int
	for _, line := range strings.Split(o.log.String(), "\n") {
		if !strings.Contains(line, "req-under-test") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines++
		if rec["request_id"] != "req-under-test" || rec["trace_id"] == nil {
			t.Errorf("log line without request_id or trace_id: %s", line)
		}
		if rec["msg"] == "request" {
			if _, ok := rec["duration_ms"].(float64); !ok {
				t.Errorf("access log line without duration_ms: %s", line)
			}
		}
		for k, v := range rec {
			if _, isNum := v.(float64); isNum && strings.Contains(k, "duration") && !strings.HasSuffix(k, "_ms") {
				t.Errorf("duration %s not in milliseconds: %s", k, line)
			}
		}
	}
	if lines == 0 {
		t.Fatalf("no log line carries the request id:\n%s", o.log.String())
	}
}

// TestDocumentedMetricsFromStartUp scrapes /metrics on the admin listener right after
// start-up, before any request: every metric the docs name (docs/lifecycle.md's table,
// docs/operations.md's list) is there, and the per-route request metrics have a series
// for every route at zero.
func TestDocumentedMetricsFromStartUp(t *testing.T) {
	o := startObserved(t)
	res, err := http.Get(o.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	scraped := string(body)
	documented := map[string]bool{}
	for _, doc := range []string{"lifecycle.md", "operations.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile("`(linkvault_[a-z_]+)").FindAllStringSubmatch(string(b), -1) {
			documented[m[1]] = true
		}
	}
	if len(documented) < 15 {
		t.Fatalf("only %d metrics found in the docs: %v", len(documented), documented)
	}
	for name := range documented {
		if !strings.Contains(scraped, "\n# TYPE "+name+" ") {
			t.Errorf("documented metric %s is not scraped at start-up", name)
		}
	}
	for _, series := range []string{
		`linkvault_http_requests_total{code="2xx",route="POST /api/v1/holdings/get"} 0`,
		`linkvault_http_requests_total{code="4xx",route="unmatched"} 0`,
		`linkvault_http_request_duration_seconds_count{route="POST /api/v1/linktoken"} 0`,
		`linkvault_refresh_refreshes_total{broker="coinbase",outcome="reauth"} 0`,
		`linkvault_webhook_deliveries_total{outcome="failed"} 0`,
	} {
		if !strings.Contains(scraped, series) {
			t.Errorf("series missing at start-up: %s", series)
		}
	}
	// A request moves its route's series, by status class.
	o.call(t, http.MethodGet, "/api/v1/integrations", "", nil)
	res, err = http.Get(o.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `linkvault_http_requests_total{code="2xx",route="GET /api/v1/integrations"} 1`) {
		t.Errorf("the integrations request was not counted:\n%s", grepLines(string(body), "GET /api/v1/integrations"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
