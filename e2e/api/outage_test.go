package api_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/testdb"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// TestDatabaseOutageAnswers503 (issue 13, defect 6): while linkvault's PostgreSQL does not
// answer, every API call that needs it is a retryable 503 serverFailure with Retry-After
// (errorType serviceUnavailable), never a 500 internalError, and /readyz fails; once the
// database is back, the same calls succeed. The outage is made the two ways a restart
// looks from a client: the server's backends are terminated (SQLSTATE 57P01
// admin_shutdown on the next statement), then the database refuses connections and cuts
// the open ones (a TCP proxy in front of PostgreSQL is closed). On 21fa79d the same calls
// answered 500 internalError.
func TestDatabaseOutageAnswers503(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	dsn := testdb.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("the outage test needs a URL-form DSN: %v", err)
	}
	proxy := startTCPProxy(t, u.Host)
	proxied := *u
	proxied.Host = proxy.addr
	env := e2etest.Start(t, e2etest.Options{PostgresDSN: proxied.String(), Env: map[string]string{
		// Every call reads the database (no resolve cache), so each one meets the outage.
		"LINKVAULT_RESOLVE_CACHE_SIZE": "0",
		"LINKVAULT_LOG_LEVEL":          "info",
	}})
	read := mustClient(t, env.URL(), env.ClientA.ID, env.ClientA.ReadSecret)
	tok := connect(t, read, "olga", lvclient.Sandbox)

	calls := map[string]func(ctx context.Context) error{
		"linktoken": func(ctx context.Context) error {
			_, err := read.CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: "olga"})
			return err
		},
		"holdings": func(ctx context.Context) error {
			_, err := read.Holdings(ctx, tok, lvclient.Sandbox)
			return err
		},
		"token status": func(ctx context.Context) error {
			_, err := read.TokenStatus(ctx, tok, lvclient.Sandbox)
			return err
		},
	}
	// During an outage a call either succeeds (it ran before the cut, or on a connection
	// that survived) or is the retryable 503; nothing else is acceptable.
	outageAnswers := func(t *testing.T, phase string) (unavailable int) {
		t.Helper()
		for round := range 3 {
			for name, call := range calls {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := call(ctx)
				cancel()
				if err == nil {
					continue
				}
				var e *lvclient.APIError
				if !errors.As(err, &e) {
					t.Fatalf("%s, round %d, %s: %v (not an envelope)", phase, round, name, err)
				}
				if e.HTTPStatus != http.StatusServiceUnavailable || e.Status != "serverFailure" || e.ErrorType != "serviceUnavailable" || e.RetryAfter <= 0 {
					t.Fatalf("%s, round %d, %s: answered %d %s/%s (Retry-After %v) %q; want 503 serverFailure/serviceUnavailable with Retry-After",
						phase, round, name, e.HTTPStatus, e.Status, e.ErrorType, e.RetryAfter, e.Message)
				}
				unavailable++
			}
		}
		return unavailable
	}

	// 1. Backends terminated by the administrator (what a fast restart does to open
	// connections): the next statement on each pooled connection fails with 57P01.
	admin, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	terminated := proxy.terminateBackends(t, admin)
	n := outageAnswers(t, "after pg_terminate_backend")
	t.Logf("backends terminated: %d; 503 answers meanwhile: %d", terminated, n)

	// 2. The database is down: connections refused, open ones cut.
	proxy.cut()
	if n := outageAnswers(t, "database down"); n == 0 {
		t.Fatal("no call met the outage: every call answered while the database was down")
	}
	if code := readyz(t, env.Servers[0].AdminURL); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answered %d during the outage, want 503", code)
	}

	// 3. Back: readiness recovers and every call succeeds again.
	proxy.restore(t)
	deadline := time.Now().Add(2 * time.Minute)
	for readyz(t, env.Servers[0].AdminURL) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover within 2 minutes of the database coming back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for name, call := range calls {
		if err := call(context.Background()); err != nil {
			t.Fatalf("after the outage, %s: %v", name, err)
		}
	}
}

func mustClient(t *testing.T, base, id, secret string) *lvclient.Client {
	t.Helper()
	c, err := lvclient.New(base, id, secret, lvclient.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readyz(t *testing.T, base string) int {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// tcpProxy forwards a local port to the database, and can play an outage: cut closes
// the listener (new connections are refused) and every open connection; restore
// listens on the same address again.
type tcpProxy struct {
	addr, target string

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]bool
	upstream map[int]bool // local ports of the connections to the database
	wg       sync.WaitGroup
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}, upstream: map[int]bool{}}
	p.serve(ln)
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(c) })
		}
	})
}

func (p *tcpProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	port := up.LocalAddr().(*net.TCPAddr).Port
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up], p.upstream[port] = true, true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	delete(p.upstream, port)
	p.mu.Unlock()
}

// cut refuses new connections and closes the open ones.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// restore accepts connections on the same address again.
func (p *tcpProxy) restore(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port is ours; only TIME_WAIT can delay it
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// terminateBackends ends, as an administrator would, the PostgreSQL backends serving
// this proxy's connections (found by their client port), and returns how many.
func (p *tcpProxy) terminateBackends(t *testing.T, admin *pgx.Conn) int {
	t.Helper()
	p.mu.Lock()
	var ports []int32
	for port := range p.upstream {
		ports = append(ports, int32(port))
	}
	p.mu.Unlock()
	var n int
	if err := admin.QueryRow(context.Background(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE client_port = ANY($1) AND pid <> pg_backend_pid()`,
		ports).Scan(&n); err != nil {
		t.Fatalf("pg_terminate_backend: %v", err)
	}
	return n
}
