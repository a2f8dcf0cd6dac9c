package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/metricstest"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/webhook"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// store is what these tests need from either database.
type store interface {
	linkvault.Store
	webhook.Store
	webhook.AdminStore
	PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error)
}

const client = "app1"

type env struct {
	t      *testing.T
	db     store
	sealer linkvault.Sealer
	admin  *webhook.Admin
	now    func() time.Time
}

func newEnv(t *testing.T, db store, now func() time.Time) *env {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	if err := db.CreateClient(t.Context(), &linkvault.Client{ID: client, Name: client, CreatedAt: now()}); err != nil {
		t.Fatal(err)
	}
	k := envelopetest.Keyring(t, db, now)
	return &env{t: t, db: db, sealer: k, admin: webhook.NewAdmin(db, k, now, time.Hour), now: now}
}

// events writes n events to the outbox, the way the vault does (with a state change).
func (e *env) events(clientID string, n int) []string {
	e.t.Helper()
	ids := make([]string, n)
	for i := range n {
		c := &linkvault.Connection{
			TokenID: linkvault.NewTokenID(),
			ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: clientID, UserID: fmt.Sprintf("user-%d-%s", i, linkvault.NewRandomID(4)),
				BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
			Status: linkvault.StatusActive, CreatedAt: e.now(),
		}
		ids[i] = "evt_" + linkvault.NewRandomID(12)
		ev := linkvault.Event{ID: ids[i], ClientID: clientID, Type: linkvault.EventConnectionCreated, TokenID: c.TokenID,
			Data: json.RawMessage(`{"tokenId":"` + c.TokenID + `"}`), CreatedAt: e.now()}
		if err := e.db.CreateConnection(e.t.Context(), c, ev); err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

func (e *env) dispatcher(cfg webhook.Config, reg prometheus.Registerer) *webhook.Dispatcher {
	e.t.Helper()
	return e.dispatcherOn(e.db, cfg, reg)
}

func (e *env) dispatcherOn(db store, cfg webhook.Config, reg prometheus.Registerer) *webhook.Dispatcher {
	e.t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10000
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = e.now
	}
	d, err := webhook.NewDispatcher(cfg, webhook.Deps{Store: db, Sealer: e.sealer, Registerer: reg})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { stop(e.t, d) })
	return d
}

func stop(t *testing.T, d *webhook.Dispatcher) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func (e *env) pending() int64 {
	n, err := e.db.CountPendingWebhookEvents(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// receiver is a webhook endpoint that verifies every delivery and counts, per
// webhook-id, the deliveries it accepted.
type receiver struct {
	t        *testing.T
	secrets  atomic.Pointer[[]linkvault.Secret]
	now      func() time.Time
	status   atomic.Int64 // answer while not 200
	mu       sync.Mutex
	accepted map[string]int
	bodies   map[string]string
	sigCount map[int]int // signatures per header -> deliveries
	requests atomic.Int64
	badSig   atomic.Int64
}

func newReceiver(t *testing.T, now func() time.Time, secrets ...linkvault.Secret) *receiver {
	r := &receiver{t: t, now: now, accepted: map[string]int{}, bodies: map[string]string{}, sigCount: map[int]int{}}
	r.secrets.Store(&secrets)
	r.status.Store(200)
	return r
}

// verify checks a delivery with the Go SDK's verifier (what an app runs) holding the
// receiver's current secrets.
func (r *receiver) verify(h http.Header, body []byte) error {
	var keys []string
	for _, s := range *r.secrets.Load() {
		keys = append(keys, s.Reveal())
	}
	v, err := lvclient.NewWebhookVerifier(keys, lvclient.WithWebhookClock(r.now))
	if err != nil {
		return err
	}
	return v.Verify(h, body)
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	body, _ := io.ReadAll(req.Body)
	if err := r.verify(req.Header, body); err != nil {
		r.badSig.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if s := int(r.status.Load()); s != 200 {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "not now", s)
		return
	}
	id := req.Header.Get(webhook.HeaderID)
	r.mu.Lock()
	r.accepted[id]++
	r.bodies[id] = string(body)
	r.sigCount[len(strings.Fields(req.Header.Get(webhook.HeaderSignature)))]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// serveOn serves h on addr (a port that was free, or port 0 for any) and returns the
// address it listens on; the server closes with the test.
func serveOn(t *testing.T, addr string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// counter reads the counter name's series with the label outcome from g.
func counter(t *testing.T, g prometheus.Gatherer, name, outcome string) float64 {
	t.Helper()
	return metricstest.Counter(t, g, name, map[string]string{"outcome": outcome})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	proctest.WaitFor(t, what, 60*time.Second, 5*time.Millisecond, cond)
}

// checkExactlyOnce: every event was accepted by the receiver exactly once by
// webhook-id, with the body of that event, and nothing else was accepted.
func checkExactlyOnce(t *testing.T, r *receiver, ids []string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if n := r.accepted[id]; n != 1 {
			t.Fatalf("event %s accepted %d times, want exactly once", id, n)
		}
		var p struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.bodies[id]), &p); err != nil || p.Type != linkvault.EventConnectionCreated || !strings.Contains(string(p.Data), "tokenId") {
			t.Fatalf("event %s body %s", id, r.bodies[id])
		}
	}
	if len(r.accepted) != len(ids) {
		t.Fatalf("receiver accepted %d distinct ids, want %d", len(r.accepted), len(ids))
	}
	if r.badSig.Load() != 0 {
		t.Fatalf("%d deliveries failed signature verification", r.badSig.Load())
	}
}

// TestReceiverDownThenUpGetsEveryEventOnce: the receiver is unreachable (connection
// refused), then answers 503, then recovers; it ends up with every event exactly once
// by webhook-id, and the delivery log shows the failed attempts.
func TestReceiverDownThenUpGetsEveryEventOnce(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // down: nothing listens
	rot, err := e.admin.SetURL(t.Context(), client, "http://"+addr+"/hooks")
	if err != nil || rot.Secret.IsZero() || rot.Version != 1 {
		t.Fatalf("SetURL = %+v, %v; want the first secret", rot.Version, err)
	}
	ids := e.events(client, 150)
	reg := prometheus.NewRegistry()
	e.dispatcher(webhook.Config{QueueConfig: poller.QueueConfig{Workers: 8}}, reg)

	waitFor(t, "attempts against the closed port", func() bool { return counter(t, reg, "linkvault_webhook_deliveries_total", "retry") >= 100 })
	rcv := newReceiver(t, time.Now, rot.Secret)
	rcv.status.Store(http.StatusServiceUnavailable)
	serveOn(t, addr, rcv)
	waitFor(t, "503 answers", func() bool { return rcv.requests.Load() >= 100 })
	rcv.status.Store(http.StatusOK)
	waitFor(t, "outbox drained", func() bool { return e.pending() == 0 })

	checkExactlyOnce(t, rcv, ids)
	// The outbox row is marked delivered before the worker counts the delivery, so the
	// counter may trail the drained outbox for a moment; it must then read exactly 150.
	waitFor(t, "deliveries counted", func() bool {
		return counter(t, reg, "linkvault_webhook_deliveries_total", "delivered") >= float64(len(ids))
	})
	if got := counter(t, reg, "linkvault_webhook_deliveries_total", "delivered"); got != float64(len(ids)) {
		t.Errorf("deliveries_total{delivered} = %v, want %d", got, len(ids))
	}
	if pend, err := e.db.PendingEvents(t.Context(), client); err != nil || len(pend) != 0 {
		t.Errorf("undelivered events left: %d, %v", len(pend), err)
	}
	log, err := e.admin.Deliveries(t.Context(), client, 1000)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, d := range log {
		codes[d.ErrorCode]++
		if d.ErrorCode == "" && d.StatusCode != http.StatusNoContent {
			t.Errorf("successful attempt logged with status %d", d.StatusCode)
		}
	}
	if codes["network"] == 0 || codes["http_503"] == 0 || codes[""] == 0 {
		t.Errorf("delivery log codes %v; want network errors, 503s and successes", codes)
	}
}

// TestSecretRotationSignsWithBoth: after a rotation, deliveries carry a signature per
// active secret, so receivers on either secret accept them; after the overlap only the
// new secret signs.
func TestSecretRotationSignsWithBoth(t *testing.T) {
	clock := exchangesim.NewManualClock(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, testdb.SQLite(t), clock.Now)
	rcv := newReceiver(t, clock.Now)
	addr := serveOn(t, "127.0.0.1:0", rcv)

	first, err := e.admin.SetURL(t.Context(), client, "http://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.admin.RotateSecret(t.Context(), client)
	if err != nil || second.Version != 2 || !second.PreviousUntil.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("RotateSecret = v%d until %v, %v", second.Version, second.PreviousUntil, err)
	}
	if again, err := e.admin.SetURL(t.Context(), client, "http://"+addr+"/v2"); err != nil || !again.Secret.IsZero() {
		t.Fatalf("SetURL with secrets present created another secret (%v)", err)
	}

	for _, receiverSecrets := range [][]linkvault.Secret{{first.Secret}, {second.Secret}} {
		rcv.secrets.Store(&receiverSecrets)
		ids := e.events(client, 3)
		d := e.dispatcher(webhook.Config{SecretCacheTTL: time.Nanosecond}, nil)
		waitFor(t, "delivered", func() bool { return e.pending() == 0 })
		stop(t, d)
		rcv.mu.Lock()
		for _, id := range ids {
			if rcv.accepted[id] != 1 {
				t.Fatalf("event %s accepted %d times", id, rcv.accepted[id])
			}
		}
		rcv.mu.Unlock()
	}
	if rcv.sigCount[2] != 6 || rcv.badSig.Load() != 0 {
		t.Fatalf("signatures per delivery: %v, bad %d; want two signatures on all 6", rcv.sigCount, rcv.badSig.Load())
	}

	// After the overlap only the new secret signs: a receiver still on the old one
	// refuses the delivery.
	clock.Advance(time.Hour + time.Second)
	old := []linkvault.Secret{first.Secret}
	rcv.secrets.Store(&old)
	e.events(client, 1)
	d := e.dispatcher(webhook.Config{SecretCacheTTL: time.Nanosecond}, nil)
	waitFor(t, "refused delivery", func() bool { return rcv.badSig.Load() > 0 && e.pending() == 0 })
	stop(t, d)
	current := []linkvault.Secret{second.Secret}
	rcv.secrets.Store(&current)
	e.events(client, 1)
	d = e.dispatcher(webhook.Config{SecretCacheTTL: time.Nanosecond}, nil)
	waitFor(t, "delivered with the new secret", func() bool { return e.pending() == 0 })
	stop(t, d)
	if rcv.sigCount[1] != 1 {
		t.Fatalf("signatures per delivery after the overlap: %v; want one delivery with one signature", rcv.sigCount)
	}
}

// TestFinalOutcomes: events without a URL are skipped, non-retryable answers fail at
// once, retryable ones fail after the schedule; all with a delivery log.
func TestFinalOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		status   int    // receiver's answer; 0: no URL
		attempts int    // wanted attempts
		code     string // wanted last error code
	}{
		{"no webhook URL: skipped", 0, 1, "no_webhook_url"},
		{"410 Gone: failed at once", http.StatusGone, 1, "http_410"},
		{"401: failed at once", http.StatusUnauthorized, 1, "http_401"},
		{"redirect not followed: failed", http.StatusFound, 1, "http_302"},
		{"500 until the schedule runs out", http.StatusInternalServerError, 4, "http_500"},
		{"429 until the schedule runs out", http.StatusTooManyRequests, 4, "http_429"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testdb.SQLite(t), nil)
			var hits atomic.Int64
			addr := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
				w.WriteHeader(tt.status)
			}))
			if tt.status != 0 {
				if _, err := e.admin.SetURL(t.Context(), client, "http://"+addr+"/"); err != nil {
					t.Fatal(err)
				}
			}
			ids := e.events(client, 1)
			reg := prometheus.NewRegistry()
			d := e.dispatcher(webhook.Config{MaxAttempts: 4}, reg)
			waitFor(t, "final outcome", func() bool { return e.pending() == 0 })
			// The row is final before its worker counts it; Stop waits for the worker.
			stop(t, d)
			log, err := e.admin.Deliveries(t.Context(), client, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != tt.attempts || log[0].ErrorCode != tt.code || log[0].EventID != ids[0] || log[0].Attempt != tt.attempts {
				t.Fatalf("delivery log %+v; want %d attempts ending with %s", log, tt.attempts, tt.code)
			}
			wantHits := int64(tt.attempts)
			if tt.status == 0 {
				wantHits = 0
			}
			if hits.Load() != wantHits {
				t.Errorf("receiver hit %d times, want %d", hits.Load(), wantHits)
			}
			outcome := "failed"
			if tt.status == 0 {
				outcome = "skipped"
			}
			if counter(t, reg, "linkvault_webhook_deliveries_total", outcome) != 1 {
				t.Errorf("deliveries_total{%s} != 1", outcome)
			}
		})
	}
}

// TestTwoReplicasOnPostgresDeliverOnce: two dispatchers with separate pools on one
// PostgreSQL share the outbox; a flaky receiver still gets every event exactly once.
func TestTwoReplicasOnPostgresDeliverOnce(t *testing.T) {
	schemaDSN := testdb.PostgresDSN(t)
	var dbs []*postgres.DB
	for range 2 {
		db, err := postgres.Open(t.Context(), schemaDSN, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		dbs = append(dbs, db)
	}
	e := newEnv(t, dbs[0], nil)
	var n atomic.Int64
	flaky := newReceiver(t, time.Now)
	addr := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			http.Error(w, "flaky", http.StatusBadGateway)
			return
		}
		flaky.ServeHTTP(w, r)
	}))
	rot, err := e.admin.SetURL(t.Context(), client, "http://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	flaky.secrets.Store(&[]linkvault.Secret{rot.Secret})

	ids := e.events(client, 300)
	e.dispatcherOn(dbs[0], webhook.Config{QueueConfig: poller.QueueConfig{Owner: "replica-a"}}, nil)
	e.dispatcherOn(dbs[1], webhook.Config{QueueConfig: poller.QueueConfig{Owner: "replica-b"}}, nil)
	waitFor(t, "outbox drained", func() bool { return e.pending() == 0 })
	checkExactlyOnce(t, flaky, ids)
}

// TestAdmin covers the operator commands' rules: unknown clients, URL validation, the
// first secret created with the URL (never an unsigned delivery), disabling, limits.
func TestAdmin(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), nil)
	ctx := t.Context()
	if _, err := e.admin.SetURL(ctx, "nobody", "https://app.example/hooks"); !linkvault.IsNotFound(err) {
		t.Errorf("SetURL for an unknown client = %v, want notFound", err)
	}
	if _, err := e.admin.RotateSecret(ctx, "nobody"); !linkvault.IsNotFound(err) {
		t.Errorf("RotateSecret for an unknown client = %v, want notFound", err)
	}
	if _, err := e.admin.SetURL(ctx, client, "http://app.example/hooks"); linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
		t.Errorf("SetURL with plain http to a public host = %v, want badRequest", err)
	}
	if c, _ := e.db.GetClient(ctx, client); c.WebhookURL != "" {
		t.Fatalf("refused URL was stored: %q", c.WebhookURL)
	}
	rot, err := e.admin.SetURL(ctx, client, "https://app.example/hooks")
	if err != nil || rot.Version != 1 || rot.Secret.IsZero() || !rot.PreviousUntil.IsZero() {
		t.Fatalf("first SetURL = v%d, %v; want the first secret", rot.Version, err)
	}
	secrets, err := e.db.ListWebhookSecrets(ctx, client)
	if err != nil || len(secrets) != 1 || strings.Contains(string(secrets[0].Sealed), rot.Secret.Reveal()) {
		t.Fatalf("stored secrets = %d, %v; want one, sealed", len(secrets), err)
	}
	if _, err := e.admin.SetURL(ctx, client, ""); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if c, _ := e.db.GetClient(ctx, client); c.WebhookURL != "" {
		t.Fatalf("URL not cleared: %q", c.WebhookURL)
	}
	if _, err := e.admin.Deliveries(ctx, client, 0); linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
		t.Errorf("Deliveries with limit 0 = %v, want badRequest", err)
	}
	// Two rotations racing: both succeed with distinct versions.
	var wg sync.WaitGroup
	versions := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			r, err := e.admin.RotateSecret(ctx, client)
			if err != nil {
				t.Error(err)
				return
			}
			versions <- r.Version
		})
	}
	wg.Wait()
	close(versions)
	seen := map[int]bool{}
	for v := range versions {
		seen[v] = true
	}
	if !seen[2] || !seen[3] {
		t.Fatalf("concurrent rotations got versions %v, want 2 and 3", seen)
	}
}
