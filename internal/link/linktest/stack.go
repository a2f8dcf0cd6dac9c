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
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

// Stack is a complete linkvault server for tests, assembled by internal/app exactly as
// `linkvault serve` assembles it (audit, transfer ledger, lifecycle engine, Link), on a
// loopback listener, with the simulated exchanges on loopback ports, a SQLite store in
// the test's temporary directory (or Options.Store) and a random master key. Two
// clients exist, "app1" and "app2", each with a read and a write API key.
//
// The engine renews credentials on demand; its scheduled loop and the webhook
// dispatcher run only when the test enables Refresh in StackOptions.Config.
type Stack struct {
	URL string // the server's base URL (also the Link public URL)
	App *app.App
	Sim *exchangesim.Cluster
	// DB is the store (the App's).
	DB        app.Store
	Vault     *vault.Service
	Link      *link.Service
	Providers *provider.Registry
	// Clock drives every service (Link session and page expiry, credential expiry,
	// leases): the wall clock, moved forward when a test says so.
	Clock *Clock
	keys  map[string]map[linkvault.Permission]linkvault.Secret
}

// Clock is the wall clock plus an offset a test moves forward (to expire sessions and
// credentials without sleeping). Time keeps running between steps, so events stay
// ordered.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the wall time plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// StackOptions adjusts NewStack. Everything not set here is production's.
type StackOptions struct {
	// Host is the listening address of the server (default 127.0.0.1).
	Host string
	// Config adjusts the configuration before the server is assembled; it starts from
	// config.Default() with every provider pointed at the simulated exchanges and
	// Refresh.Enabled off.
	Config func(*config.Config)
	// Store replaces the SQLite test database (e.g. testdb.Postgres). It must be
	// migrated; the caller closes it.
	Store app.Store
	// WrapStore lets a test observe or alter the Link session store.
	WrapStore func(link.Store) link.Store
	// Middleware wraps the server's handler (to observe requests).
	Middleware func(http.Handler) http.Handler
	// Retry is the API's retry policy for transient provider failures (default:
	// short waits, 3 attempts).
	Retry account.RetryPolicy
}

// NewStack starts a Stack that stops when tb ends.
func NewStack(tb testing.TB, opts StackOptions) *Stack {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	clock := &Clock{}
	sim, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{Now: clock.Now})
	if err != nil {
		tb.Fatalf("linktest: start simulated exchanges: %v", err)
	}
	tb.Cleanup(func() { _ = sim.Close() })

	cfg := config.Default()
	cfg.Providers = app.SimulatedProviders(cfg.Providers, sim)
	cfg.AdminAddr = "127.0.0.1:0" // tests run side by side
	cfg.Refresh.Enabled = false
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	store := opts.Store
	if store == nil {
		store = testdb.SQLite(tb)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	master, err := envelope.LoadMasterKeyring([]byte("v1:" + base64.StdEncoding.EncodeToString(key)))
	if err != nil {
		tb.Fatal(err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		tb.Fatal(err)
	}
	if opts.Retry == (account.RetryPolicy{}) {
		opts.Retry = account.RetryPolicy{Attempts: 3, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}
	}
	a, err := app.New(ctx, &cfg, app.Options{
		Now: clock.Now, Store: store, MasterKeyring: master, Listener: ln,
		Middleware: opts.Middleware, WrapLinkStore: opts.WrapStore, Retry: opts.Retry,
	})
	if err != nil {
		_ = ln.Close()
		tb.Fatalf("linktest: assemble the server: %v", err)
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Close()
		tb.Fatalf("linktest: start the server: %v", err)
	}
	tb.Cleanup(func() {
		if err := a.Close(); err != nil {
			tb.Errorf("linktest: stop the server: %v", err)
		}
	})
	st := &Stack{URL: a.URL, App: a, Sim: sim, DB: a.Store, Vault: a.Vault, Link: a.Link, Providers: a.Providers,
		Clock: clock, keys: map[string]map[linkvault.Permission]linkvault.Secret{}}
	for _, id := range []string{"app1", "app2"} {
		if _, err := a.Clients.CreateClient(ctx, id, id); err != nil {
			tb.Fatal(err)
		}
		st.keys[id] = map[linkvault.Permission]linkvault.Secret{}
		for _, perm := range []linkvault.Permission{linkvault.PermissionRead, linkvault.PermissionWrite} {
			k, err := a.Clients.CreateKey(ctx, id, perm)
			if err != nil {
				tb.Fatal(err)
			}
			st.keys[id][perm] = k.Secret
		}
	}
	return st
}

// Exchange returns the simulated exchange of broker type b.
func (st *Stack) Exchange(b linkvault.BrokerType) *exchangesim.Server {
	return st.Sim.ByBrokerType(string(b))
}

// Connect mints a grant for user at b's simulated exchange (as if the user had
// consented) and stores the connection through the vault, with one account, as Link
// does after a login. Tests that are not about Link use it to get a tokenId quickly.
func (st *Stack) Connect(tb testing.TB, client, user string, b linkvault.BrokerType, scope linkvault.Permission) *linkvault.Connection {
	tb.Helper()
	tr, err := st.Exchange(b).MintGrant(user)
	if err != nil {
		tb.Fatalf("linktest: mint a grant: %v", err)
	}
	cred := Credential(tr, user, st.Clock.Now())
	c, err := st.Vault.Connect(context.Background(), vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: client, UserID: user, BrokerType: b, Scope: scope},
		Credential:         cred,
		Accounts:           []linkvault.Account{{AccountID: "acct-" + user, AccountName: "Main"}},
	})
	if err != nil {
		tb.Fatalf("linktest: connect: %v", err)
	}
	return c
}

// Credential is the credential an adapter makes of a simulated exchange's token
// response received at now, for user.
func Credential(tr exchangesim.TokenResponse, user string, now time.Time) linkvault.Credential {
	c := linkvault.Credential{
		AccessToken: linkvault.NewSecret(tr.AccessToken), RefreshToken: linkvault.NewSecret(tr.RefreshToken),
		APISecret: linkvault.NewSecret(tr.SecretKey), TokenType: tr.TokenType, Subject: user,
	}
	if tr.ExpiresIn != nil {
		c.Expiry = now.Add(time.Duration(*tr.ExpiresIn) * time.Second)
	}
	if tr.RefreshTokenExpiresIn > 0 {
		c.RefreshExpiry = now.Add(time.Duration(tr.RefreshTokenExpiresIn) * time.Second)
	}
	return c
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

// OpenPage opens the Link page of a new linkToken for userID as client with its perm
// key, failing the test if it does not open.
func (st *Stack) OpenPage(tb testing.TB, client string, perm linkvault.Permission, userID string) *Page {
	tb.Helper()
	p, err := Open(tb.Context(), nil, st.LinkToken(tb, client, perm, userID))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// AllowOrigins adds web origins to those allowed to frame client's Link pages (what
// `linkvault clients update --allowed-origin` sets); "*" allows any site.
func (st *Stack) AllowOrigins(tb testing.TB, client string, origins ...string) {
	tb.Helper()
	c, err := st.DB.GetClient(context.Background(), client)
	if err != nil {
		tb.Fatalf("linktest: client %s: %v", client, err)
	}
	c.AllowedOrigins = append(c.AllowedOrigins, origins...)
	if err := st.DB.UpdateClient(context.Background(), c); err != nil {
		tb.Fatalf("linktest: allow origins for %s: %v", client, err)
	}
}
