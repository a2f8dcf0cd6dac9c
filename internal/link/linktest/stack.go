package linktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/exchangesim/simprovider"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/vault"
)

// Stack is a complete linkvault server assembled from the real packages for tests:
// simulated exchanges on loopback ports, a SQLite store, envelope encryption, the vault,
// the provider adapters pointed at the simulator, the Link service and the HTTP server
// on a loopback listener. Two clients exist, "app1" and "app2", each with a read and a
// write API key.
type Stack struct {
	URL       string // the server's base URL (also the Link public URL)
	Sim       *exchangesim.Cluster
	DB        *sqlite.DB
	Vault     *vault.Service
	Link      *link.Service
	Providers *provider.Registry
	// Clock drives the Link service (session and page expiry); it starts at the wall
	// time and moves only when told.
	Clock *exchangesim.ManualClock
	keys  map[string]map[linkvault.Permission]linkvault.Secret
}

// StackOptions adjusts NewStack.
type StackOptions struct {
	// Host is the listening address of the server (default 127.0.0.1).
	Host string
	// WrapStore lets a test observe or alter the Link session store.
	WrapStore func(link.Store) link.Store
	// Middleware wraps the server's handler (to observe requests).
	Middleware func(http.Handler) http.Handler
	// HTTP configures the server (limits, timeouts); the zero value takes defaults.
	HTTP lvhttp.Config
}

// NewStack starts a Stack that stops when tb ends.
func NewStack(tb testing.TB, opts StackOptions) *Stack {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	sim, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{})
	if err != nil {
		tb.Fatalf("linktest: start simulated exchanges: %v", err)
	}
	tb.Cleanup(func() { _ = sim.Close() })

	db := sqlite.OpenTestDB(tb)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	master, err := envelope.LoadMasterKeyring([]byte("v1:" + base64.StdEncoding.EncodeToString(key)))
	if err != nil {
		tb.Fatal(err)
	}
	sealer := envelope.New(db, master, time.Now)
	reg, err := provider.NewRegistry(simprovider.Configs(sim), provider.Deps{})
	if err != nil {
		tb.Fatal(err)
	}
	v := vault.New(vault.Config{Store: db, Sealer: sealer, Revoker: reg, CacheSize: 100, CacheTTL: time.Minute})
	cs := clients.New(db, time.Now, time.Minute)
	st := &Stack{Sim: sim, DB: db, Vault: v, Providers: reg, Clock: exchangesim.NewManualClock(time.Now()),
		keys: map[string]map[linkvault.Permission]linkvault.Secret{}}
	for _, id := range []string{"app1", "app2"} {
		if _, err := cs.CreateClient(ctx, id, id); err != nil {
			tb.Fatal(err)
		}
		st.keys[id] = map[linkvault.Permission]linkvault.Secret{}
		for _, perm := range []linkvault.Permission{linkvault.PermissionRead, linkvault.PermissionWrite} {
			k, err := cs.CreateKey(ctx, id, perm)
			if err != nil {
				tb.Fatal(err)
			}
			st.keys[id][perm] = k.Secret
		}
	}

	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		tb.Fatal(err)
	}
	st.URL = "http://" + ln.Addr().String()
	var store link.Store = db
	if opts.WrapStore != nil {
		store = opts.WrapStore(store)
	}
	st.Link, err = link.New(link.Config{
		Store: store, Connections: db, Vault: v, Providers: reg, Sealer: sealer,
		PublicURL: st.URL, Now: st.Clock.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv := lvhttp.NewServer(opts.HTTP, lvhttp.Deps{Vault: v, Auth: cs, Providers: reg, Link: st.Link,
		API: lvhttp.APIDeps{Transfers: db, Previews: db}})
	var h http.Handler = srv.Handler()
	if opts.Middleware != nil {
		h = opts.Middleware(h)
	}
	hs := httptest.NewUnstartedServer(h)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	tb.Cleanup(hs.Close)
	return st
}

// Secret returns the API secret of client's key with permission perm.
func (st *Stack) Secret(client string, perm linkvault.Permission) linkvault.Secret {
	return st.keys[client][perm]
}

// Response is an API answer.
type Response struct {
	Code     int
	Body     []byte
	Envelope struct {
		Status         string          `json:"status"`
		Message        string          `json:"message"`
		DisplayMessage *string         `json:"displayMessage"`
		ErrorType      string          `json:"errorType"`
		Content        json.RawMessage `json:"content"`
	}
}

// API calls the REST API as client with its perm key (client "" sends no credentials).
func (st *Stack) API(tb testing.TB, method, path, client string, perm linkvault.Permission, body string) Response {
	tb.Helper()
	req, err := http.NewRequest(method, st.URL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		tb.Fatal(err)
	}
	if client != "" {
		req.Header.Set("X-Client-Id", client)
		req.Header.Set("X-Client-Secret", st.Secret(client, perm).Reveal())
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var r Response
	r.Code = resp.StatusCode
	r.Body, _ = io.ReadAll(resp.Body)
	if err := json.Unmarshal(r.Body, &r.Envelope); err != nil {
		tb.Fatalf("%s %s: not an envelope (HTTP %d): %q", method, path, r.Code, r.Body)
	}
	return r
}

// LinkToken asks for a linkToken for userID as client with its perm key.
func (st *Stack) LinkToken(tb testing.TB, client string, perm linkvault.Permission, userID string) string {
	tb.Helper()
	b, _ := json.Marshal(map[string]string{"userId": userID})
	r := st.API(tb, http.MethodPost, "/api/v1/linktoken", client, perm, string(b))
	var content struct {
		LinkToken string `json:"linkToken"`
	}
	if r.Code != http.StatusOK || json.Unmarshal(r.Envelope.Content, &content) != nil || content.LinkToken == "" {
		tb.Fatalf("linktoken: %d %s", r.Code, r.Body)
	}
	return content.LinkToken
}
