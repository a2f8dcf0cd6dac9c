package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/meshspec"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

// apiEnv is the managed-account API of a complete server (linktest.Stack: the
// production assembly of internal/app) on a real SQLite store, with the real adapters
// talking to the simulated exchanges over HTTP. The Coinbase adapter reaches its
// exchange's API through faultProxy, which can fail or swallow answers
// deterministically.
type apiEnv struct {
	stack    *linktest.Stack
	url      string
	db       *sqlite.DB
	vault    *vault.Service
	sim      *exchangesim.Cluster
	proxy    *faultProxy
	recorder *audit.Recorder
	// keys[client][permission] is an API secret.
	keys map[string]map[linkvault.Permission]string
}

func newAPIEnv(t testing.TB) *apiEnv {
	t.Helper()
	db := testdb.SQLite(t)
	var proxy *faultProxy
	st := linktest.NewStack(t, linktest.StackOptions{Store: db, Config: func(c *config.Config) {
		proxy = newFaultProxy(t, c.Providers.Coinbase.APIBaseURL)
		c.Providers.Coinbase.APIBaseURL = proxy.url
	}})
	env := &apiEnv{stack: st, url: st.URL, db: db, vault: st.Vault, sim: st.Sim, proxy: proxy, recorder: st.App.Audit,
		keys: map[string]map[linkvault.Permission]string{}}
	for _, id := range []string{"app1", "app2"} {
		env.keys[id] = map[linkvault.Permission]string{}
		for _, perm := range []linkvault.Permission{linkvault.PermissionRead, linkvault.PermissionWrite} {
			env.keys[id][perm] = st.Secret(id, perm).Reveal()
		}
	}
	return env
}

// exchange returns the simulated exchange of a broker type.
func (e *apiEnv) exchange(b linkvault.BrokerType) *exchangesim.Server { return e.stack.Exchange(b) }

// connect mints a grant for user at the exchange (as if the user had consented) and
// stores the connection, returning its tokenId.
func (e *apiEnv) connect(t testing.TB, client, user string, b linkvault.BrokerType, scope linkvault.Permission) string {
	t.Helper()
	return e.stack.Connect(t, client, user, b, scope).TokenID
}

// content decodes the envelope's content into v.
func (r apiResponse) content(t *testing.T, v any) {
	t.Helper()
	var raw struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw.Content, v); err != nil {
		t.Fatalf("content %s: %v", raw.Content, err)
	}
}

func (e *apiEnv) do(t *testing.T, method, path, client string, perm linkvault.Permission, body string) apiResponse {
	t.Helper()
	h := map[string]string{"X-Client-Id": client, "X-Client-Secret": e.keys[client][perm]}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	r := request(t, method, e.url+path, h, body)
	checkContract(t, method, path, r.code, r.body)
	return r
}

func (e *apiEnv) post(t *testing.T, path, client string, perm linkvault.Permission, body any) apiResponse {
	t.Helper()
	s, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		s = string(b)
	}
	return e.do(t, "POST", path, client, perm, s)
}

func tokenBody(tok string, b linkvault.BrokerType) map[string]any {
	return map[string]any{"authToken": tok, "type": string(b)}
}

// ethereumID is Mesh's id of Ethereum (FrontFin/mesh-web-sdk swagger.json at e7c178a9).
const ethereumID = "e3c7fdd8-b1fc-4e51-85ae-bb276e075611"

// sendBody is a valid preview of 0.01 ETH on Ethereum (Mesh's PreviewTransferRequest),
// with transactionId when txID is set. It also carries a previewId that was never
// issued, so posted to execute it exercises every rule that answers before the preview
// is looked up.
func sendBody(tok string, b linkvault.BrokerType, txID string) map[string]any {
	m := map[string]any{
		"fromAuthToken": tok, "fromType": string(b), "toAddress": "0x326a8825472bb0f4719998e708a1eeeb4473ed1b",
		"symbol": "ETH", "networkId": ethereumID, "amount": 0.01, "previewId": "5a1a6f2e-0000-4000-8000-000000000000",
	}
	if txID != "" {
		m["transactionId"] = txID
	}
	return m
}

// previewBody is sendBody without the execute field (Mesh's request schema is closed).
func previewBody(tok string, b linkvault.BrokerType, txID string) map[string]any {
	m := sendBody(tok, b, txID)
	delete(m, "previewId")
	return m
}

// executeBody is Mesh's ExecuteTransferRequest.
func executeBody(tok string, b linkvault.BrokerType, previewID string) map[string]any {
	return map[string]any{"fromAuthToken": tok, "fromType": string(b), "previewId": previewID}
}

// previewID previews body and returns its previewId.
func (e *apiEnv) previewID(t *testing.T, client string, body map[string]any) string {
	t.Helper()
	r := e.post(t, "/api/v1/transfers/managed/preview", client, linkvault.PermissionWrite, body)
	if r.code != 200 {
		t.Fatalf("preview: %d %s", r.code, r.body)
	}
	var c struct {
		PreviewResult struct {
			PreviewID string `json:"previewId"`
		} `json:"previewResult"`
	}
	r.content(t, &c)
	return c.PreviewResult.PreviewID
}

func (e *apiEnv) connection(t *testing.T, client, tok string) *linkvault.Connection {
	t.Helper()
	c, err := e.db.GetConnection(context.Background(), client, tok)
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	return c
}

// auditLog flushes the recorder and returns the client's entries, newest first.
func (e *apiEnv) auditLog(t *testing.T, q linkvault.AuditQuery) []linkvault.AuditEntry {
	t.Helper()
	if err := e.recorder.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	es, err := e.db.ListAudit(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func expect(t *testing.T, r apiResponse, code int, status, errorType string) {
	t.Helper()
	if r.code != code || r.env.Status != status || r.env.ErrorType != errorType {
		t.Fatalf("got %d %s, want %d status=%s errorType=%q", r.code, r.body, code, status, errorType)
	}
}

// faultProxy sits between an adapter and its exchange's API. By default it forwards;
// failNext answers the next N requests with 503 without forwarding; swallowSends
// forwards transfer POSTs and then answers 503, as if the answer were lost after the
// exchange executed.
type faultProxy struct {
	url      string
	rp       *httputil.ReverseProxy
	failNext atomic.Int64
	swallow  atomic.Bool
	calls    atomic.Int64
}

func newFaultProxy(t testing.TB, target string) *faultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{rp: httputil.NewSingleHostReverseProxy(u)}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	p.url = hs.URL
	return p
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	if p.failNext.Add(-1) >= 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"errors":[{"id":"temporarily_unavailable","message":"proxy says no"}]}`))
		return
	}
	p.failNext.Store(0)
	if p.swallow.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/transactions") {
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// noSecretIn fails if any of the secrets appears in b.
func noSecretIn(t *testing.T, what string, b []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && bytes.Contains(b, []byte(s)) {
			t.Fatalf("%s contains a secret", what)
		}
	}
}

// checkContract validates an answer of an operation of Mesh's API against the schema
// Mesh's OpenAPI document gives it (internal/meshspec); linkvault's own endpoints are
// not in the document and are skipped.
func checkContract(t testing.TB, method, path string, code int, body []byte) {
	t.Helper()
	spec, err := meshspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := spec.Find(method, strings.SplitN(path, "?", 2)[0]); !ok {
		return
	}
	if schema, err := spec.ValidateResponse(method, path, code, body); err != nil {
		t.Fatalf("%s %s answered %d, which does not match Mesh's %s schema: %v\n%s", method, path, code, schema, err, body)
	}
}
