package refresh_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/metricstest"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

// Issue 13, defect 4: the crash window's bound. Each test failed on main at e4dc81f.

// TestWorkersBoundOnDemandAndLoopTogether: with the exchange rotating at once but
// holding its answers back, the refreshes a process has in flight (rotated, answer not
// yet received: what a crash would lose) never exceed Workers, counting the background
// loop's and API calls' together. Before, API calls were bounded only by the provider's
// cap (64): 15 of the 18 were in flight at once.
func TestWorkersBoundOnDemandAndLoopTogether(t *testing.T) {
	const workers, onDemand, due = 3, 12, 6
	h := newHarness(t, testdb.SQLite(t), harnessOptions{})
	loopConns := h.connectMany(linkvault.BrokerSandbox, "loop", due, 4) // due at once
	var apiConns []*vault.Resolved
	for i := range onDemand {
		c := h.connect(linkvault.BrokerSandbox, "api-"+string(rune('a'+i)), func(c *linkvault.Credential) {
			c.Expiry = h.now().Add(10 * time.Second) // within ExpirySkew: API calls renew it
		})
		apiConns = append(apiConns, h.resolve(c.TokenID))
	}
	h.sim.Sandbox.SetFaults(exchangesim.Faults{AnswerLatency: 400 * time.Millisecond})
	reg := metricstest.NewRegistry(t)
	e := h.engine(refresh.Config{QueueConfig: poller.QueueConfig{Workers: workers}}, reg)

	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, r := range apiConns {
		wg.Go(func() {
			if _, err := e.EnsureFresh(context.Background(), r); err != nil {
				failed.Add(1)
				t.Errorf("EnsureFresh: %v", err)
			}
		})
	}
	// Sample the answers the exchange holds back (refreshes it has rotated whose new
	// tokens the engine has not received) until every call is done.
	var peak atomic.Int64
	sampled, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if v := h.sim.Sandbox.Stats().HeldAnswers; v > peak.Load() {
				peak.Store(v)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	startEngine(t, e)
	wg.Wait()
	waitFor(t, "the loop's connections refreshed", func() bool {
		due, err := h.store.CountDueConnections(t.Context(), h.now())
		return err == nil && due == 0
	})
	stopEngine(t, e)
	close(stop)
	<-sampled
	if p := peak.Load(); p > workers || p == 0 {
		t.Fatalf("at most %d refreshes were in flight at once (rotated at the exchange, answer not received); want 1..Workers = %d", p, workers)
	}
	if st := h.sim.Sandbox.Stats(); st.RefreshesOK != onDemand+due || st.RefreshReuseDetected != 0 || failed.Load() != 0 {
		t.Fatalf("exchange: %d refreshes, %d reuse detections, %d failed calls; want %d, 0, 0", st.RefreshesOK, st.RefreshReuseDetected, failed.Load(), onDemand+due)
	}
	for _, c := range loopConns {
		checkWorks(t, h, linkvault.BrokerSandbox, h.resolve(c.TokenID).Credential)
	}
}

// slowVault delays every write by delay and fails the first failFirst of them with
// linkvault.ErrUnavailable, as a stalled or restarting database would.
type slowVault struct {
	*vault.Service
	delay     time.Duration
	failFirst atomic.Int64
}

func (v *slowVault) stall(ctx context.Context) error {
	select {
	case <-time.After(v.delay):
	case <-ctx.Done():
		return linkvault.ErrUnavailable(ctx.Err())
	}
	if v.failFirst.Add(-1) >= 0 {
		return linkvault.ErrUnavailable(context.DeadlineExceeded)
	}
	return nil
}

func (v *slowVault) Update(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	if err := v.stall(ctx); err != nil {
		return err
	}
	return v.Service.Update(ctx, c, events...)
}

func (v *slowVault) MarkReauthRequired(ctx context.Context, c *linkvault.Connection, reason string) error {
	if err := v.stall(ctx); err != nil {
		return err
	}
	return v.Service.MarkReauthRequired(ctx, c, reason)
}

// TestWriteBackWaitsForTheLease: a write-back that takes longer than WriteTimeout, or
// that fails while the database does not answer, is waited for and retried within the
// lease; the rotated tokens are stored, nothing is lost. Before, the write-back gave up
// after WriteTimeout (a fixed 5 s) however much of the lease remained.
func TestWriteBackWaitsForTheLease(t *testing.T) {
	for _, tt := range []struct {
		name      string
		delay     time.Duration
		failFirst int64
	}{
		{"write slower than WriteTimeout", 600 * time.Millisecond, 0},
		{"database unavailable for two attempts", 0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testdb.SQLite(t), harnessOptions{})
			c := h.connect(linkvault.BrokerSandbox, "wes", func(c *linkvault.Credential) { c.Expiry = h.now().Add(10 * time.Second) })
			r := h.resolve(c.TokenID)
			sv := &slowVault{Service: h.vault, delay: tt.delay}
			sv.failFirst.Store(tt.failFirst)
			e := h.engineOn(h.store, sv, h.sealer, refresh.Config{
				QueueConfig:     poller.QueueConfig{LeaseDuration: 10 * time.Second, WriteTimeout: 200 * time.Millisecond},
				ProviderTimeout: 2 * time.Second,
			}, nil)
			got, err := e.EnsureFresh(t.Context(), r)
			if err != nil {
				t.Fatalf("EnsureFresh: %v", err)
			}
			checkWorks(t, h, linkvault.BrokerSandbox, got.Credential)
			if cred := h.open(h.get(c.TokenID)); cred.RefreshToken.Reveal() != got.Credential.RefreshToken.Reveal() {
				t.Fatal("the rotated refresh token was not stored")
			}
			// The stored refresh token is the live one: another refresh works, no reuse.
			if _, err := e.HandleRejected(t.Context(), h.resolve(c.TokenID), nil); err != nil {
				t.Fatalf("refresh with the stored token: %v", err)
			}
			if st := h.sim.Sandbox.Stats(); st.RefreshReuseDetected != 0 || st.RefreshesOK != 2 {
				t.Fatalf("exchange: %d refreshes, %d reuse detections; want 2, 0", st.RefreshesOK, st.RefreshReuseDetected)
			}
		})
	}
}

// TestOnDemandBeyondTheBoundWaitsThenAnswers503: with one slot and write-backs that
// take 1.2 s, four API calls on four connections queue for the slot; a call that gets
// none within LeaseDuration (3 s) answers ErrUnavailable (503 with Retry-After) without
// touching its connection, and counts on_demand{outcome="busy"}. Nothing is lost.
func TestOnDemandBeyondTheBoundWaitsThenAnswers503(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{})
	var rs []*vault.Resolved
	for _, u := range []string{"w1", "w2", "w3", "w4"} {
		c := h.connect(linkvault.BrokerSandbox, u, func(c *linkvault.Credential) { c.Expiry = h.now().Add(10 * time.Second) })
		rs = append(rs, h.resolve(c.TokenID))
	}
	reg := metricstest.NewRegistry(t)
	e := h.engineOn(h.store, &slowVault{Service: h.vault, delay: 1200 * time.Millisecond}, h.sealer, refresh.Config{
		QueueConfig:     poller.QueueConfig{Workers: 1, LeaseDuration: 3 * time.Second, WriteTimeout: 200 * time.Millisecond},
		ProviderTimeout: time.Second,
	}, reg)
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() { _, errs[i] = e.EnsureFresh(context.Background(), r) })
	}
	wg.Wait()
	var ok, busy int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case linkvault.IsUnavailable(err):
			busy++
			if got := h.get(rs[i].Connection.TokenID); got.Version != rs[i].Connection.Version {
				t.Errorf("a call that got no slot wrote its connection (version %d, was %d)", got.Version, rs[i].Connection.Version)
			}
		default:
			t.Errorf("EnsureFresh: %v", err)
		}
	}
	if busy == 0 || ok == 0 {
		t.Fatalf("%d calls renewed, %d answered busy; want some of each (one slot, 1.2 s per renewal, 3 s lease)", ok, busy)
	}
	if got := reg.Counter("linkvault_refresh_on_demand_total", map[string]string{"outcome": "busy"}); int(got) != busy {
		t.Errorf("on_demand_total{busy} = %v, want %d", got, busy)
	}
	if st := h.sim.Sandbox.Stats(); int(st.RefreshesOK) != ok || st.RefreshReuseDetected != 0 {
		t.Fatalf("exchange: %d refreshes, %d reuse detections; want %d, 0", st.RefreshesOK, st.RefreshReuseDetected, ok)
	}
}
