package webapp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/linkvault/linkvault"
)

// fakeLinkvault answers the three API calls the app makes and records them.
type fakeLinkvault struct {
	mu       sync.Mutex
	calls    []string
	holdings bool // whether /api/v1/holdings/get exists
}

func (f *fakeLinkvault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-Client-Id") != "app" || r.Header.Get("X-Client-Secret") != "lvsk_secret" {
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"status":"permissionDenied","message":"bad key","errorType":"invalidClientCredentials","content":null}`)
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	switch r.Method + " " + r.URL.Path {
	case "POST /api/v1/linktoken":
		_, _ = io.WriteString(w, `{"status":"ok","content":{"linkToken":"bGluaw=="},"message":""}`)
	case "POST /api/v1/holdings/get":
		if !f.holdings {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"status":"notFound","message":"Endpoint not found.","errorType":"notFound","content":null}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok","content":{"cryptocurrencyPositions":[{"symbol":"BTC","amount":1}]}}`)
	case "DELETE /api/v1/account":
		_, _ = io.WriteString(w, `{"status":"ok","content":{"status":"succeeded"}}`)
	default:
		w.WriteHeader(404)
		_, _ = io.WriteString(w, `{"status":"notFound","message":"no","content":null}`)
	}
}

func newTestApp(t *testing.T, storePath string) (*fakeLinkvault, *httptest.Server, *http.Client) {
	t.Helper()
	fake := &fakeLinkvault{}
	lv := httptest.NewServer(fake)
	t.Cleanup(lv.Close)
	app, err := New(Config{LinkvaultURL: lv.URL, ClientID: "app", ClientSecret: linkvault.NewSecret("lvsk_secret"), StorePath: storePath})
	if err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(app)
	t.Cleanup(as.Close)
	jar, _ := cookiejar.New(nil)
	return fake, as, &http.Client{Jar: jar}
}

func call(t *testing.T, c *http.Client, method, u, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestConnectStoreHoldingsDisconnect(t *testing.T) {
	store := filepath.Join(t.TempDir(), "tokens.json")
	fake, as, c := newTestApp(t, store)

	if code, _ := call(t, c, http.MethodPost, as.URL+"/api/linktoken", `{}`); code != 401 {
		t.Fatalf("linktoken before sign-in: %d", code)
	}
	if _, err := c.PostForm(as.URL+"/signin", url.Values{"name": {"alice"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(as.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Signed in as") || strings.Contains(string(page), "lvsk_secret") {
		t.Fatalf("app page: %s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src http://127.0.0.1:") || !strings.Contains(csp, "script-src 'self' http://127.0.0.1:") {
		t.Fatalf("CSP %q", csp)
	}

	code, out := call(t, c, http.MethodPost, as.URL+"/api/linktoken", `{}`)
	if code != 200 || out["linkToken"] != "bGluaw==" {
		t.Fatalf("linktoken: %d %v", code, out)
	}
	payload := `{"brokerType":"coinbase","brokerName":"Coinbase","accountTokens":[{"tokenId":"tok1","accessToken":"tok1","account":{"accountName":"Main"}}]}`
	if code, out := call(t, c, http.MethodPost, as.URL+"/api/connections", payload); code != 200 {
		t.Fatalf("store: %d %v", code, out)
	}
	_, out = call(t, c, http.MethodGet, as.URL+"/api/connections", "")
	conns, _ := out["connections"].([]any)
	if len(conns) != 1 || conns[0].(map[string]any)["tokenId"] != "tok1" {
		t.Fatalf("connections: %v", out)
	}

	// Holdings degrade while linkvault lacks the endpoint, then work.
	if code, out := call(t, c, http.MethodPost, as.URL+"/api/holdings", `{"brokerType":"coinbase"}`); code != 502 || out["status"] != "notFound" {
		t.Fatalf("holdings without the endpoint: %d %v", code, out)
	}
	fake.mu.Lock()
	fake.holdings = true
	fake.mu.Unlock()
	if code, out := call(t, c, http.MethodPost, as.URL+"/api/holdings", `{"brokerType":"coinbase"}`); code != 200 || out["cryptocurrencyPositions"] == nil {
		t.Fatalf("holdings: %d %v", code, out)
	}

	// The store survives a restart of the app.
	app2, err := New(Config{LinkvaultURL: "http://127.0.0.1:1", ClientID: "app", ClientSecret: linkvault.NewSecret("x"), StorePath: store})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := app2.store.get("alice", "coinbase"); !ok || c.TokenID != "tok1" {
		t.Fatalf("reloaded store: %+v %v", c, ok)
	}

	if code, out := call(t, c, http.MethodPost, as.URL+"/api/disconnect", `{"brokerType":"coinbase"}`); code != 200 {
		t.Fatalf("disconnect: %d %v", code, out)
	}
	_, out = call(t, c, http.MethodGet, as.URL+"/api/connections", "")
	if conns, _ := out["connections"].([]any); len(conns) != 0 {
		t.Fatalf("after disconnect: %v", out)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	want := []string{"POST /api/v1/linktoken", "POST /api/v1/holdings/get", "POST /api/v1/holdings/get", "DELETE /api/v1/account"}
	if strings.Join(fake.calls, ",") != strings.Join(want, ",") {
		t.Fatalf("linkvault calls %v, want %v", fake.calls, want)
	}
}

func TestWritesNeedJSON(t *testing.T) {
	_, as, c := newTestApp(t, "")
	if _, err := c.PostForm(as.URL+"/signin", url.Values{"name": {"bob"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(as.URL+"/api/connections", "application/x-www-form-urlencoded", strings.NewReader("a=b"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form post: %d", resp.StatusCode)
	}
	for _, name := range []string{"", strings.Repeat("x", 65)} {
		resp, err := c.PostForm(as.URL+"/signin", url.Values{"name": {name}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("sign in as %q: %d", name, resp.StatusCode)
		}
	}
}
