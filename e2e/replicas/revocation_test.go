package replicas_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// removals is how many connections are removed while the exchange is down.
const removals = 8

// TestRemovalRevokesAfterTheOutageOnAnotherReplica (issue 13, defect 3): with the
// simulated Coinbase answering 503 to everything, replica A removes connections through
// DELETE /api/v1/account: each answer is revocationPending, every tokenId is gone at
// once, and the grants stay live (the exchange did not answer). A is then killed
// (SIGKILL). Replica B starts, retries during the outage and is stopped; replica C
// starts, the exchange comes back, and C revokes every grant: the simulator ends with
// no live grant of the removed users, the queue is empty (the sealed copies deleted),
// and each removal has its connection.revoked event with details.revocation "revoked".
// The test logs the revocation latency after the outage ends (docs/lifecycle.md gives
// the bound). On main before the fix the removals answered a bare "ok" and the grants
// stayed live for good.
func TestRemovalRevokesAfterTheOutageOnAnotherReplica(t *testing.T) {
	env, dsn := startOnPostgres(t, "runs three linkvault processes", map[string]string{
		// Replica A runs no queue workers: only its own immediate attempt.
		"LINKVAULT_REFRESH_ENABLED":          "false",
		"LINKVAULT_COINBASE_TIMEOUT":         "2s",
		"LINKVAULT_REVOCATION_POLL_INTERVAL": "100ms",
		"LINKVAULT_REVOCATION_BACKOFF_BASE":  "100ms",
		"LINKVAULT_REVOCATION_BACKOFF_MAX":   "400ms",
		"LINKVAULT_LOG_LEVEL":                "info",
	})
	ctx := context.Background()
	cb := env.Sim.Coinbase
	hooks := newHookReceiver(t)
	env.CLI("webhooks", "set-url", "--client", env.ClientA.ID, "--url", hooks.srv.URL+"/hooks")
	tokens := seedCoinbase(t, env, dsn, removals)
	conn := openDB(t, dsn)
	queue := func() (n, minAttempts int) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(min(attempts), 0) FROM revocations`).Scan(&n, &minAttempts); err != nil {
			t.Fatal(err)
		}
		return n, minAttempts
	}

	a := env.Servers[0]
	live := cb.Stats().LiveGrants
	cb.SetFaults(exchangesim.Faults{ErrorRate: 1})
	for _, tok := range tokens {
		code, env1, hdr := call(t, a.URL, "DELETE", "/api/v1/account", env.ClientA.ReadSecret, env.ClientA.ID,
			`{"authToken":"`+tok+`","type":"coinbase"}`)
		if code != 200 || env1.Status != "ok" || env1.Message != string(linkvault.RevocationPending) || hdr.Get("Linkvault-Revocation") != env1.Message {
			t.Fatalf("removal with the exchange down: %d %+v", code, env1)
		}
		if code, _, _ := call(t, a.URL, "POST", "/api/v1/holdings/get", env.ClientA.ReadSecret, env.ClientA.ID,
			`{"authToken":"`+tok+`","type":"coinbase"}`); code != 404 {
			t.Fatalf("a removed tokenId answers %d, want 404 at once", code)
		}
	}
	if n, _ := queue(); n != removals {
		t.Fatalf("revocation queue holds %d entries, want %d", n, removals)
	}
	if got := cb.Stats().LiveGrants; got != live {
		t.Fatalf("live grants %d -> %d while the exchange was down", live, got)
	}
	a.Kill()

	// Replica B: retries while the exchange is still down, then stops (a restart).
	b := env.StartServerWith(map[string]string{"LINKVAULT_REFRESH_ENABLED": "true"})
	waitUntil(t, "replica B's retries during the outage", func() bool { _, m := queue(); return m >= 3 })
	if got := metric(t, b.AdminURL, "linkvault_revocation_queue_depth"); got != removals {
		t.Fatalf("replica B's queue depth gauge = %v, want %d", got, removals)
	}
	b.Stop()
	if n, _ := queue(); n != removals {
		t.Fatalf("queue holds %d entries after the outage retries, want %d", n, removals)
	}

	// Replica C: the exchange comes back while it runs.
	c := env.StartServerWith(map[string]string{"LINKVAULT_REFRESH_ENABLED": "true"})
	before := cb.Stats().GrantsRevoked
	up := time.Now()
	cb.SetFaults(exchangesim.Faults{})
	waitUntil(t, "the revocations after the outage", func() bool { return cb.Stats().GrantsRevoked-before == removals })
	latency := time.Since(up)
	waitUntil(t, "the emptied queue", func() bool { n, _ := queue(); return n == 0 })
	t.Logf("revocation latency after the exchange came back: %v for %d grants (poll 100ms, backoff capped at 400ms)", latency.Round(time.Millisecond), removals)
	if got := cb.Stats().LiveGrants; got != live-removals {
		t.Fatalf("live grants %d, want %d: a removed grant is still live", got, live-removals)
	}

	// The app learns the final state from connection.revoked (delivered by C: the
	// outbox keeps no payload after delivery).
	waitUntil(t, "connection.revoked for every removal", func() bool { return len(hooks.revoked()) == removals })
	for tok, state := range hooks.revoked() {
		if state != string(linkvault.RevocationRevoked) || !slices.Contains(tokens, tok) {
			t.Fatalf("connection.revoked of %s says %q, want revoked", tok, state)
		}
	}
	// Replica C did it: its metrics count the revocations.
	if got := metric(t, c.AdminURL, `linkvault_revocation_outcomes_total{broker="coinbase",reason="removed",state="revoked"}`); got != removals {
		t.Fatalf("replica C counted %v revocations, want %d", got, removals)
	}
}

// hookReceiver is client A's webhook endpoint; it records the connection.revoked
// events it receives (signatures are the webhook package's matter).
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]string // tokenId -> details.revocation
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{got: map[string]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				TokenID string `json:"tokenId"`
				Details struct {
					Revocation string `json:"revocation"`
				} `json:"details"`
			} `json:"data"`
		}
		if json.NewDecoder(r.Body).Decode(&ev) == nil && ev.Type == linkvault.EventConnectionRevoked {
			h.mu.Lock()
			h.got[ev.Data.TokenID] = ev.Data.Details.Revocation
			h.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) revoked() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.got)
}

// call sends one API request with the client's key and decodes the envelope.
func call(t *testing.T, base, method, path, secret, client, body string) (int, envelopeAnswer, http.Header) {
	t.Helper()
	a := apiCall(http.DefaultClient, base, method, path, client, secret, body)
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a.status, a.envelope, a.header
}
