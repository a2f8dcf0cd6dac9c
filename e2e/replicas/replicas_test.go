// Package replicas_test runs several real `linkvault serve` processes on one PostgreSQL
// database and checks that their refresh engines share the due set without ever
// presenting a refresh token twice, also when one of them is killed with SIGKILL.
package replicas_test

import (
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// connections is how many due connections the replicas share.
const connections = 10_000

// TestReplicasShareTheDueSetAndSurviveKill9: three replicas, 10,000 connections due at
// once. One replica is killed with SIGKILL once the work is under way. In the end every
// connection is still stored and is either refreshed once or, for the few whose refresh
// the killed process had obtained but not written (the crash window, docs/lifecycle.md),
// re-auth-required; the simulator's reuse detections match those one to one, so no
// refresh token was ever presented twice by live replicas.
func TestReplicasShareTheDueSetAndSurviveKill9(t *testing.T) {
	env, dsn := startOnPostgres(t, "runs three linkvault processes", withProviderTimeout(map[string]string{
		"LINKVAULT_REFRESH_POLL_INTERVAL":  "50ms",
		"LINKVAULT_REFRESH_LEASE_DURATION": "10s",
		"LINKVAULT_REFRESH_AHEAD":          "1m",
		"LINKVAULT_REFRESH_WORKERS":        "16",
		"LINKVAULT_REFRESH_ENABLED":        "false", // seed first, then start the replicas
		"LINKVAULT_LOG_LEVEL":              "info",
	}, "2s"))
	seed(t, env, dsn)
	// The replicas that do the work (the harness's first server only migrated and
	// created the clients; it runs no engine).
	env.Servers[0].Stop()
	var replicas []*e2etest.Server
	for range 3 {
		replicas = append(replicas, env.StartServerWith(map[string]string{"LINKVAULT_REFRESH_ENABLED": "true"}))
	}

	conn := openDB(t, dsn)
	stats := func() exchangesim.Stats { return env.Sim.Sandbox.Stats() }

	// Kill one replica once a quarter of the work is done.
	for stats().RefreshesOK < connections/4 {
		time.Sleep(10 * time.Millisecond)
	}
	replicas[1].Kill()
	t.Logf("replica 1 killed after %d refreshes", stats().RefreshesOK)

	// Wait until no connection is due any more (the killed replica's leases expire
	// first, 10s).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var due int
		if err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM connections WHERE status = 'active' AND next_check_at <= now() + interval '30 seconds'`).Scan(&due); err != nil {
			t.Fatal(err)
		}
		if due == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still due after 3 minutes (%+v)", due, stats())
		}
		time.Sleep(200 * time.Millisecond)
	}

	var total, reauth int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE status = 'reauth_required') FROM connections`).Scan(&total, &reauth); err != nil {
		t.Fatal(err)
	}
	s := stats()
	t.Logf("connections %d, re-auth-required %d, simulator %+v", total, reauth, s)
	if total != connections {
		t.Fatalf("%d connections stored, want %d: a connection was lost", total, connections)
	}
	if int(s.RefreshReuseDetected) != reauth {
		t.Fatalf("%d reuse detections but %d re-auth-required connections: a refresh token was presented twice outside the crash window", s.RefreshReuseDetected, reauth)
	}
	// Each refresh obtained by a live replica was written; the killed one can have lost
	// at most one per worker (16).
	if reauth > 16 {
		t.Fatalf("%d connections lost their grant; at most one per worker of the killed replica (16) may", reauth)
	}
	if got, want := int(s.RefreshesOK), connections; got < want || got > want+reauth {
		t.Fatalf("%d refreshes at the simulator, want %d..%d", got, want, want+reauth)
	}
}

// seed creates the due connections directly in the database, sealed with the servers'
// master key, each holding a grant minted on the simulated sandbox exchange.
func seed(t *testing.T, env *e2etest.Env, dsn string) {
	t.Helper()
	seedConnections(t, env, dsn, "user", connections, nil)
}
