package http_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/vault"
)

type testServer struct {
	url     string
	db      app.Store
	vault   *vault.Service
	secrets map[string]string // client id -> write key secret
}

// newTestServer is a linktest.Stack (the production assembly) with the given request
// body limit (0: the default).
func newTestServer(t *testing.T, bodyLimit int64) *testServer {
	return newTestServerWith(t, func(c *config.Config) {
		if bodyLimit > 0 {
			c.HTTP.MaxBodyBytes = bodyLimit
		}
	})
}

func newTestServerWith(t *testing.T, configure func(*config.Config)) *testServer {
	t.Helper()
	st := linktest.NewStack(t, linktest.StackOptions{Config: configure})
	return &testServer{url: st.URL, db: st.DB, vault: st.Vault, secrets: map[string]string{
		"app1": st.Secret("app1", linkvault.PermissionWrite).Reveal(),
		"app2": st.Secret("app2", linkvault.PermissionWrite).Reveal(),
	}}
}

func (ts *testServer) connect(t *testing.T, client, user string) string {
	t.Helper()
	c, err := ts.vault.Connect(context.Background(), vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: client, UserID: user, BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead},
		Credential:         linkvault.Credential{AccessToken: linkvault.NewSecret("at-" + user)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.TokenID
}

// apiResponse is an answer of the API: its status, body, decoded envelope and headers.
type apiResponse struct {
	code int
	body []byte
	env  lvhttp.Envelope
	hdr  http.Header
}

func (ts *testServer) do(t *testing.T, method, path string, headers map[string]string, body string) apiResponse {
	t.Helper()
	return request(t, method, ts.url+path, headers, body)
}

// request sends one request and decodes its answer, which must be an envelope.
func request(t *testing.T, method, url string, headers map[string]string, body string) apiResponse {
	t.Helper()
	res, b := proctest.Send(t, method, url, headers, body)
	var env lvhttp.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: body is not an envelope: %q", method, url, b)
	}
	return apiResponse{code: res.StatusCode, body: b, env: env, hdr: res.Header}
}

func (ts *testServer) auth(client string) map[string]string {
	return map[string]string{"X-Client-Id": client, "X-Client-Secret": ts.secrets[client], "Content-Type": "application/json"}
}

func TestAuthenticationFailures(t *testing.T) {
	ts := newTestServer(t, 0)
	body := `{"authToken":"x","type":"coinbase"}`
	tests := []struct {
		name    string
		headers map[string]string
		wantMsg string
	}{
		{"no headers", nil, "X-Client-Id and X-Client-Secret headers are required."},
		{"no secret", map[string]string{"X-Client-Id": "app1"}, "X-Client-Id and X-Client-Secret headers are required."},
		{"wrong secret", map[string]string{"X-Client-Id": "app1", "X-Client-Secret": "lvsk_0123456789abcdef_nope"}, "Invalid X-Client-Id or X-Client-Secret."},
		{"other client's secret", map[string]string{"X-Client-Id": "app1", "X-Client-Secret": ts.secrets["app2"]}, "Invalid X-Client-Id or X-Client-Secret."},
		{"unknown client", map[string]string{"X-Client-Id": "ghost", "X-Client-Secret": ts.secrets["app1"]}, "Invalid X-Client-Id or X-Client-Secret."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "DELETE", "/api/v1/account", tt.headers, body)
			if r.code != http.StatusUnauthorized || r.env.Status != "permissionDenied" || r.env.ErrorType != linkvault.ErrTypeUnauthorized || r.env.Message != tt.wantMsg {
				t.Fatalf("got %d %s", r.code, r.body)
			}
		})
	}
}

func TestBadInputGetsClearErrorsAndWritesNothing(t *testing.T) {
	ts := newTestServer(t, 256)
	tok := ts.connect(t, "app1", "alice")
	h := ts.auth("app1")
	textCT := ts.auth("app1")
	textCT["Content-Type"] = "text/plain"
	tests := []struct {
		name     string
		headers  map[string]string
		body     string
		wantCode int
		wantType string
	}{
		{"malformed JSON", h, `{"authToken":`, 400, linkvault.ErrTypeInvalidJSON},
		{"not JSON", h, `hello`, 400, linkvault.ErrTypeInvalidJSON},
		{"empty body", h, ``, 400, linkvault.ErrTypeInvalidJSON},
		{"array instead of object", h, `[1,2]`, 400, linkvault.ErrTypeInvalidJSON},
		{"wrong field type", h, `{"authToken":5,"type":"coinbase"}`, 400, linkvault.ErrTypeInvalidJSON},
		{"two objects", h, `{"authToken":"` + tok + `","type":"coinbase"}{}`, 400, linkvault.ErrTypeInvalidJSON},
		{"unknown brokerType", h, `{"authToken":"` + tok + `","type":"kraken"}`, 400, linkvault.ErrTypeUnknownBrokerType},
		{"missing authToken", h, `{"type":"coinbase"}`, 400, linkvault.ErrTypeInvalidRequest},
		{"missing type", h, `{"authToken":"` + tok + `"}`, 400, linkvault.ErrTypeInvalidRequest},
		{"wrong content type", textCT, `{"authToken":"` + tok + `","type":"coinbase"}`, 400, linkvault.ErrTypeInvalidJSON},
		{"body over the limit", h, `{"authToken":"` + tok + `","type":"coinbase","pad":"` + strings.Repeat("x", 400) + `"}`, 413, linkvault.ErrTypeBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "DELETE", "/api/v1/account", tt.headers, tt.body)
			if r.code != tt.wantCode || r.env.ErrorType != tt.wantType || r.env.Status != "badRequest" || r.env.Message == "" {
				t.Fatalf("got %d %s", r.code, r.body)
			}
			if _, err := ts.db.GetConnection(context.Background(), "app1", tok); err != nil {
				t.Fatalf("connection changed by a bad request: %v", err)
			}
		})
	}
}

// TestNotFoundAnswersAreIdentical checks there is no oracle: another client's tokenId, a
// removed one and one never issued produce byte-identical responses.
func TestNotFoundAnswersAreIdentical(t *testing.T) {
	ts := newTestServer(t, 0)
	mine := ts.connect(t, "app1", "alice")
	theirs := ts.connect(t, "app2", "bob")
	del := func(tok string) apiResponse {
		return ts.do(t, "DELETE", "/api/v1/account", ts.auth("app1"), `{"authToken":"`+tok+`","type":"coinbase"}`)
	}
	if r := del(mine); r.code != 200 || r.env.Status != "ok" {
		t.Fatalf("remove: %d %s", r.code, r.body)
	}
	answers := map[string]apiResponse{
		"removed":        del(mine),
		"other client's": del(theirs),
		"never issued":   del(linkvault.NewTokenID()),
		"garbage":        del("../../etc/passwd"),
	}
	ref := answers["never issued"]
	if ref.code != 404 || ref.env.Status != "notFound" {
		t.Fatalf("never issued: %d %s", ref.code, ref.body)
	}
	for name, r := range answers {
		if r.code != ref.code || !bytes.Equal(r.body, ref.body) {
			t.Errorf("%s: %d %s differs from %d %s", name, r.code, r.body, ref.code, ref.body)
		}
	}
	if _, err := ts.db.GetConnection(context.Background(), "app2", theirs); err != nil {
		t.Fatalf("app1 removed app2's connection: %v", err)
	}
}

// TestUnroutedRequestsAreEnvelopes: an unknown path is 404 notFound; a known endpoint
// asked with another method is 405 methodNotAllowed with an Allow header (RFC 9110
// 15.5.6), on the REST API and the Link page's API alike.
func TestUnroutedRequestsAreEnvelopes(t *testing.T) {
	ts := newTestServer(t, 0)
	for _, tc := range []struct {
		method, path string
		code         int
		errorType    string
		allow        string
	}{
		{"GET", "/api/v1/nope", 404, "notFound", ""},
		{"POST", "/api/v1/nope", 404, "notFound", ""},
		{"GET", "/api/v1/holdings/get", 405, "methodNotAllowed", "POST"},
		{"PUT", "/api/v1/linktoken", 405, "methodNotAllowed", "POST"},
		{"POST", "/api/v1/status", 405, "methodNotAllowed", "GET, HEAD"},
		{"PATCH", "/api/v1/account", 405, "methodNotAllowed", "DELETE"},
		{"GET", "/api/v1/holdings/get/", 404, "notFound", ""},
		{"GET", "/link/api/nope", 404, "notFound", ""},
		{"GET", "/link/api/transfer/preview", 405, "methodNotAllowed", "POST"},
		{"POST", "/link/api/oauth/status", 405, "methodNotAllowed", "GET, HEAD"},
	} {
		r := ts.do(t, tc.method, tc.path, ts.auth("app1"), "")
		if r.code != tc.code || r.env.ErrorType != tc.errorType || r.hdr.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %s, Allow %q; want %d %s, Allow %q", tc.method, tc.path, r.code, r.body, r.hdr.Get("Allow"), tc.code, tc.errorType, tc.allow)
		}
	}
}

func TestTokenStatus(t *testing.T) {
	ts := newTestServer(t, 0)
	tok := ts.connect(t, "app1", "alice")
	r := ts.do(t, "POST", "/api/v1/managed/token/get", ts.auth("app1"), `{"authToken":"`+tok+`","type":"coinbase"}`)
	if r.code != 200 || r.env.Status != "ok" {
		t.Fatalf("got %d %s", r.code, r.body)
	}
	content := r.env.Content.(map[string]any)
	if content["tokenId"] != tok || content["status"] != "active" || content["scope"] != "read" || content["expiresInSeconds"] != nil {
		t.Fatalf("content = %v", content)
	}
	if strings.Contains(string(r.body), "at-alice") {
		t.Fatal("token status leaked the credential")
	}
	never := ts.do(t, "POST", "/api/v1/managed/token/get", ts.auth("app1"), `{"authToken":"`+linkvault.NewTokenID()+`","type":"coinbase"}`)
	for name, other := range map[string]apiResponse{
		"other client": ts.do(t, "POST", "/api/v1/managed/token/get", ts.auth("app2"), `{"authToken":"`+tok+`","type":"coinbase"}`),
		"wrong type":   ts.do(t, "POST", "/api/v1/managed/token/get", ts.auth("app1"), `{"authToken":"`+tok+`","type":"uphold"}`),
	} {
		if other.code != 404 || !bytes.Equal(other.body, never.body) {
			t.Errorf("%s: %d %s, want the never-issued answer %s", name, other.code, other.body, never.body)
		}
	}
}

// TestServesTLS runs the real Serve path with a certificate (the TLS termination
// option) and checks a client that trusts only that certificate gets the envelope.
func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeSelfSignedCert(t, dir)
	srv := lvhttp.NewServer(lvhttp.Config{Addr: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile}, lvhttp.Deps{})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, time.Second) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	res, err := client.Get("https://" + srv.Addr() + "/api/v1/no-such-endpoint")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || !strings.Contains(string(b), `"errorType"`) || res.TLS == nil {
		t.Fatalf("https: %d %s", res.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

func writeSelfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "linkvault test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestAdminListener: health, readiness, metrics and (when asked) profiles answer on the
// admin listener only; the public listener answers 404 for each of them. Stopping the
// server stops both.
func TestAdminListener(t *testing.T) {
	for _, pprof := range []bool{false, true} {
		metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "# metrics\n") })
		srv := lvhttp.NewServer(lvhttp.Config{Addr: "127.0.0.1:0"}, lvhttp.Deps{Metrics: metrics, Pprof: pprof})
		if err := srv.Listen(); err != nil {
			t.Fatal(err)
		}
		adminLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.UseAdminListener(adminLn)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, time.Second) }()
		get := func(base, path string) int {
			t.Helper()
			res, err := http.Get("http://" + base + path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		}
		wantPprof := http.StatusNotFound
		if pprof {
			wantPprof = http.StatusOK
		}
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/debug/pprof/": wantPprof} {
			if got := get(srv.AdminAddr(), path); got != want {
				t.Errorf("pprof=%v: admin %s = %d, want %d", pprof, path, got, want)
			}
			if got := get(srv.Addr(), path); got != http.StatusNotFound {
				t.Errorf("pprof=%v: public %s = %d, want 404", pprof, path, got)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		if _, err := net.Dial("tcp", srv.AdminAddr()); err == nil {
			t.Error("the admin listener still accepts connections after shutdown")
		}
	}
}
