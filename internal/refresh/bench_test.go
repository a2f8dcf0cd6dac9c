package refresh_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/testdb"
)

// The engine's throughput against the local simulated sandbox exchange over loopback
// HTTP (real adapters, sealing, one version-checked write per refresh): b.N connections
// are made due at once, then drained. Run with a fixed count, e.g.
//
//	go test -run '^$' -bench Engine -benchtime 10000x ./internal/refresh/
//
// and read the refreshes/s metric (seeding is not timed).

func BenchmarkEngineSQLite(b *testing.B) {
	for _, workers := range []int{8, 32} {
		b.Run(workersName(workers), func(b *testing.B) {
			h := newHarness(b, testdb.SQLite(b), harnessOptions{})
			benchDrain(b, h, []*refresh.Engine{h.engine(refresh.Config{QueueConfig: poller.QueueConfig{Workers: workers}}, nil)})
		})
	}
}

func BenchmarkEnginePostgres(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		b.Run(replicasName(replicas), func(b *testing.B) {
			dbs := openReplicas(b, testdb.PostgresDSN(b), replicas)
			h := newHarness(b, dbs[0], harnessOptions{})
			var engines []*refresh.Engine
			for _, db := range dbs {
				v, k := h.newVault(db)
				engines = append(engines, h.engineOn(db, v, k, refresh.Config{QueueConfig: poller.QueueConfig{Workers: 16}}, nil))
			}
			benchDrain(b, h, engines)
		})
	}
}

func workersName(n int) string  { return "workers=" + strconv.Itoa(n) }
func replicasName(n int) string { return "replicas=" + strconv.Itoa(n) }

func benchDrain(b *testing.B, h *harness, engines []*refresh.Engine) {
	n := b.N
	h.connectMany(linkvault.BrokerSandbox, "bench", n, 16)
	b.ResetTimer()
	start := time.Now()
	for _, e := range engines {
		if err := e.Start(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, "drained", func() bool {
		due, err := h.store.CountDueConnections(b.Context(), time.Now())
		return err == nil && due == 0
	})
	elapsed := time.Since(start)
	b.StopTimer()
	for _, e := range engines {
		stopEngine(b, e)
	}
	if st := h.sim.Sandbox.Stats(); st.RefreshesOK != int64(n) || st.RefreshReuseDetected != 0 {
		b.Fatalf("exchange: %d refreshes, %d reuse detections; want %d, 0", st.RefreshesOK, st.RefreshReuseDetected, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "refreshes/s")
}
