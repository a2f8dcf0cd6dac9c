package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// otlpReceiver is an OTLP/HTTP trace receiver (POST /v1/traces, protobuf
// ExportTraceServiceRequest, as the OpenTelemetry protocol specifies), recording the
// span names and the service name of what it receives.
type otlpReceiver struct {
	mu       sync.Mutex
	spans    []string
	services []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				o.services = append(o.services, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				o.spans = append(o.spans, s.GetName())
			}
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// TestOTLPTracesFromTheBinary: the standard OTEL_EXPORTER_OTLP_ENDPOINT alone turns
// tracing on in `linkvault serve`, which exports over OTLP/HTTP the spans of a connect
// and a holdings call (server spans by route, statements, exchange calls), named by the
// service "linkvault"; the spans buffered at SIGTERM are flushed.
func TestOTLPTracesFromTheBinary(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	env := e2etest.Start(t, e2etest.Options{Env: map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		"OTEL_BSP_SCHEDULE_DELAY":     "100",
	}})
	c, err := lvclient.New(env.URL(), env.ClientA.ID, env.ClientA.ReadSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lt, err := c.CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: "traced"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := linktest.Connect(ctx, nil, lt.LinkToken, string(lvclient.Coinbase), "traced", exchangesim.DefaultPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Holdings(ctx, p.AccountTokens[0].TokenID, lvclient.Coinbase); err != nil {
		t.Fatal(err)
	}
	env.Servers[0].Stop()

	recv.mu.Lock()
	defer recv.mu.Unlock()
	for _, want := range []string{"POST /api/v1/linktoken", "POST /api/v1/holdings/get", "GET /link/oauth/callback"} {
		if !slices.Contains(recv.spans, want) {
			t.Errorf("no %q span among %d exported: %v", want, len(recv.spans), recv.spans)
		}
	}
	var statements, calls int
	for _, s := range recv.spans {
		switch {
		case strings.HasPrefix(s, "SELECT ") || strings.HasPrefix(s, "INSERT ") || strings.HasPrefix(s, "UPDATE "):
			statements++
		case s == "GET" || s == "POST":
			calls++
		}
	}
	if statements == 0 || calls == 0 {
		t.Errorf("%d statement spans and %d exchange-call spans exported; want both", statements, calls)
	}
	if len(recv.services) == 0 || recv.services[0] != "linkvault" {
		t.Errorf("service.name %v, want linkvault", recv.services)
	}
}
