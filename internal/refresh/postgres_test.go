package refresh_test

import (
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/metricstest"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/testdb"
)

// openReplicas opens n independent stores (each its own connection pool, like n
// replicas) on one schema.
func openReplicas(t testing.TB, dsn string, n int) []*postgres.DB {
	t.Helper()
	dbs := make([]*postgres.DB, n)
	for i := range dbs {
		db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 12})
		if err != nil {
			t.Fatalf("open replica %d: %v", i, err)
		}
		t.Cleanup(func() { _ = db.Close() })
		dbs[i] = db
	}
	return dbs
}

// TestThreeReplicasRefreshTenThousandOnce: three engines with separate pools on one
// PostgreSQL refresh 10,000 due connections. The simulated exchange revokes a grant on
// any replayed refresh token, so zero reuse detections proves zero double refreshes;
// each row's version proves it was claimed and written exactly once.
func TestThreeReplicasRefreshTenThousandOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections: skipped with -short")
	}
	const n, replicas = 10000, 3
	dbs := openReplicas(t, testdb.PostgresDSN(t), replicas)
	h := newHarness(t, dbs[0], harnessOptions{})
	conns := h.connectMany(linkvault.BrokerSandbox, "user", n, 16)

	engines := make([]*refresh.Engine, replicas)
	regs := make([]*metricstest.Registry, replicas)
	for i, db := range dbs {
		v, k := h.newVault(db)
		regs[i] = metricstest.NewRegistry(t)
		engines[i] = h.engineOn(db, v, k, refresh.Config{QueueConfig: poller.QueueConfig{Owner: "replica-" + string(rune('a'+i)), Workers: 16, PollInterval: 20 * time.Millisecond}}, regs[i])
	}
	start := time.Now()
	for _, e := range engines {
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	waitForDrain(t, "every connection refreshed", func() (int, error) {
		due, err := h.store.CountDueConnections(t.Context(), time.Now())
		return int(due), err
	})
	elapsed := time.Since(start)
	for _, e := range engines {
		stopEngine(t, e)
	}
	t.Logf("%d refreshes by %d replicas in %v (%.0f/s)", n, replicas, elapsed.Round(time.Millisecond), n/elapsed.Seconds())

	if st := h.sim.Sandbox.Stats(); st.RefreshesOK != n || st.RefreshReuseDetected != 0 || st.RefreshesRejected != 0 || st.LiveGrants != n {
		t.Fatalf("exchange: %d refreshes, %d reuse detections, %d rejected, %d live grants; want %d, 0, 0, %d",
			st.RefreshesOK, st.RefreshReuseDetected, st.RefreshesRejected, st.LiveGrants, n, n)
	}
	var total float64
	for i, reg := range regs {
		got := reg.Counter("linkvault_refresh_refreshes_total", map[string]string{"outcome": "ok"})
		if got == 0 {
			t.Errorf("replica %d refreshed nothing; all three should share the due set", i)
		}
		if other := reg.Counter("linkvault_refresh_refreshes_total", nil) - got; other != 0 {
			t.Errorf("replica %d: %v refreshes with another outcome than ok", i, other)
		}
		t.Logf("replica %d: %v refreshes", i, got)
		total += got
	}
	if total != n {
		t.Errorf("replicas report %v refreshes in total, want %d", total, n)
	}
	for _, c0 := range conns {
		c := h.get(c0.TokenID)
		if c.Version != c0.Version+2 || c.LeaseOwner != "" || c.Status != linkvault.StatusActive || !c.NextCheckAt.After(time.Now()) {
			t.Fatalf("row %s: version %d (created %d; want exactly one claim and one write), lease %q, status %s, next %v",
				c.TokenID, c.Version, c0.Version, c.LeaseOwner, c.Status, c.NextCheckAt)
		}
	}
}
