package refresh_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/metricstest"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/testdb"
)

func startEngine(t *testing.T, e *refresh.Engine) {
	t.Helper()
	if err := e.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopEngine(t, e) })
}

// TestEngineRefreshesDueConnections: the engine refreshes every due connection exactly
// once, spreads the next refreshes (jitter) and leaves no lease behind.
func TestEngineRefreshesDueConnections(t *testing.T) {
	const n = 300
	h := newHarness(t, testdb.SQLite(t), harnessOptions{})
	conns := h.connectMany(linkvault.BrokerSandbox, "user", n, 8)
	reg := metricstest.NewRegistry(t)
	e := h.engine(refresh.Config{QueueConfig: poller.QueueConfig{Workers: 8}}, reg)
	startEngine(t, e)
	waitFor(t, "every connection refreshed", func() bool {
		due, err := h.store.CountDueConnections(t.Context(), h.now())
		return err == nil && due == 0
	})
	stopEngine(t, e)

	if st := h.sim.Sandbox.Stats(); st.RefreshesOK != n || st.RefreshReuseDetected != 0 || st.RefreshesRejected != 0 {
		t.Fatalf("exchange: %d refreshes, %d reuse detections, %d rejected; want %d, 0, 0", st.RefreshesOK, st.RefreshReuseDetected, st.RefreshesRejected, n)
	}
	if got := reg.Counter("linkvault_refresh_refreshes_total", map[string]string{"outcome": "ok", "broker": "sandbox"}); got != n {
		t.Errorf("refreshes_total{ok} = %v, want %d", got, n)
	}
	pol := testPolicy
	nexts := map[time.Time]bool{}
	for _, c0 := range conns {
		c := h.get(c0.TokenID)
		if c.Version != c0.Version+2 || c.LeaseOwner != "" || c.Status != linkvault.StatusActive || c.FailureCount != 0 {
			t.Fatalf("row after refresh: version %d (created %d), lease %q, status %s, failures %d", c.Version, c0.Version, c.LeaseOwner, c.Status, c.FailureCount)
		}
		cred := h.open(c)
		if !cred.Expiry.Equal(c.AccessExpiresAt) || !cred.CanRefresh() {
			t.Fatal("stored credential does not match the row's expiry fields")
		}
		latest := cred.Expiry.Add(-pol.RefreshAhead)
		earliest := latest.Add(-time.Duration(refresh.DefaultJitter * float64(pol.RefreshAhead)))
		if c.NextCheckAt.Before(earliest) || c.NextCheckAt.After(latest) {
			t.Fatalf("next check %v outside the jittered window [%v, %v]", c.NextCheckAt, earliest, latest)
		}
		nexts[c.NextCheckAt.Truncate(time.Second)] = true
	}
	if len(nexts) < 10 {
		t.Errorf("next checks fall into %d distinct seconds; jitter should spread %d connections over many", len(nexts), n)
	}
	checkWorks(t, h, linkvault.BrokerSandbox, h.resolve(conns[0].TokenID).Credential)
}

// runUntil starts an engine, waits for cond, and stops it.
func runUntil(t *testing.T, e *refresh.Engine, what string, cond func() bool) {
	t.Helper()
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, what, cond)
	stopEngine(t, e)
}

// TestEngineOutcomes drives single connections through every engine decision with
// fault injection on the simulated exchanges.
func TestEngineOutcomes(t *testing.T) {
	dueNow := func(c *linkvault.Credential) { c.Expiry = clockStart.Add(time.Minute) }

	t.Run("transient 503: credential kept, backoff", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		c := h.connect(linkvault.BrokerSandbox, "u1", dueNow)
		h.sim.Sandbox.SetFaults(exchangesim.Faults{ErrorRate: 1})
		runUntil(t, h.engine(refresh.Config{QueueConfig: poller.QueueConfig{BackoffBase: 40 * time.Second}}, nil), "failure recorded", func() bool { return h.get(c.TokenID).FailureCount == 1 })
		got := h.get(c.TokenID)
		now := h.now()
		if got.Status != linkvault.StatusActive || got.LastError != linkvault.ErrTypeProviderFailure || got.LeaseOwner != "" ||
			!bytes.Equal(got.SealedCredential, c.SealedCredential) {
			t.Fatalf("row: status %s lastError %q lease %q credential changed %v", got.Status, got.LastError, got.LeaseOwner, !bytes.Equal(got.SealedCredential, c.SealedCredential))
		}
		if got.NextCheckAt.Before(now.Add(20*time.Second)) || got.NextCheckAt.After(now.Add(40*time.Second)) {
			t.Fatalf("next check in %v, want within [20s, 40s] (first backoff with jitter)", got.NextCheckAt.Sub(now))
		}
	})
	t.Run("429 with Retry-After: next check honours it", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		c := h.connect(linkvault.BrokerSandbox, "u1", dueNow)
		h.sim.Sandbox.SetFaults(exchangesim.Faults{RateLimitRate: 1, RetryAfter: 300 * time.Second})
		runUntil(t, h.engine(refresh.Config{}, nil), "failure recorded", func() bool { return h.get(c.TokenID).FailureCount == 1 })
		if next := h.get(c.TokenID).NextCheckAt; next.Before(h.now().Add(300 * time.Second)) {
			t.Fatalf("next check in %v, want at least the Retry-After of 300s", next.Sub(h.now()))
		}
	})
	t.Run("repeated failures back off exponentially, then success resets", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		c := h.connect(linkvault.BrokerSandbox, "u1", dueNow)
		h.sim.Sandbox.SetFaults(exchangesim.Faults{ErrorRate: 1})
		e := h.engine(refresh.Config{QueueConfig: poller.QueueConfig{BackoffBase: 10 * time.Second, BackoffMax: time.Hour}}, nil)
		for failures := 1; failures <= 4; failures++ {
			runUntil(t, e, "failure recorded", func() bool { return h.get(c.TokenID).FailureCount == failures })
			got := h.get(c.TokenID)
			full := 10 * time.Second << (failures - 1)
			if d := got.NextCheckAt.Sub(h.now()); d < full/2 || d > full {
				t.Fatalf("after %d failures the next check is in %v, want within [%v, %v]", failures, d, full/2, full)
			}
			h.clock.Advance(got.NextCheckAt.Sub(h.now()))
		}
		h.sim.Sandbox.SetFaults(exchangesim.Faults{})
		runUntil(t, e, "refreshed", func() bool { return h.get(c.TokenID).FailureCount == 0 })
		if got := h.get(c.TokenID); got.LastError != "" || got.Status != linkvault.StatusActive || bytes.Equal(got.SealedCredential, c.SealedCredential) {
			t.Fatalf("after recovery: lastError %q status %s", got.LastError, got.Status)
		}
	})
	t.Run("grant revoked: re-auth required, same tokenId, event", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		c := h.connect(linkvault.BrokerCoinbase, "u1", dueNow)
		_, _ = h.sim.Coinbase.RevokeUserGrants("u1")
		runUntil(t, h.engine(refresh.Config{}, nil), "re-auth marked", func() bool { return h.get(c.TokenID).Status == linkvault.StatusReauthRequired })
		got := h.get(c.TokenID)
		if !got.NextCheckAt.IsZero() || got.LeaseOwner != "" || got.LastError != linkvault.ErrTypeReauthRequired || !bytes.Equal(got.SealedCredential, c.SealedCredential) {
			t.Fatalf("row: next %v lease %q lastError %q", got.NextCheckAt, got.LeaseOwner, got.LastError)
		}
		if ev := h.eventTypes(c.TokenID); !slices.Equal(ev, []string{linkvault.EventConnectionCreated, linkvault.EventReauthRequired}) {
			t.Fatalf("events = %v", ev)
		}
	})
	t.Run("Uphold-like: validated periodically", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		c := h.connect(linkvault.BrokerUphold, "u1", nil)
		if !c.NextCheckAt.Equal(c.CreatedAt.Add(testPolicy.ValidateEvery)) {
			t.Fatalf("created with next check %v, want now + ValidateEvery", c.NextCheckAt)
		}
		h.clock.Advance(testPolicy.ValidateEvery)
		before := h.sim.Uphold.Stats().APICalls
		runUntil(t, h.engine(refresh.Config{}, nil), "validated", func() bool { return h.get(c.TokenID).Version > c.Version+1 })
		got := h.get(c.TokenID)
		now := h.now()
		if h.sim.Uphold.Stats().APICalls != before+1 {
			t.Fatalf("uphold API calls %d, want one validation", h.sim.Uphold.Stats().APICalls-before)
		}
		earliest := now.Add(testPolicy.ValidateEvery - time.Duration(refresh.DefaultJitter*float64(testPolicy.ValidateEvery)))
		if got.Status != linkvault.StatusActive || got.NextCheckAt.Before(earliest) || got.NextCheckAt.After(now.Add(testPolicy.ValidateEvery)) {
			t.Fatalf("after validation: status %s next check in %v", got.Status, got.NextCheckAt.Sub(now))
		}
	})
	t.Run("Uphold-like: password changed kills the token, re-auth required", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		c := h.connect(linkvault.BrokerUphold, "u1", nil)
		if err := h.sim.Uphold.ChangePassword("u1", "new password"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(testPolicy.ValidateEvery)
		runUntil(t, h.engine(refresh.Config{}, nil), "re-auth marked", func() bool { return h.get(c.TokenID).Status == linkvault.StatusReauthRequired })
		if ev := h.eventTypes(c.TokenID); !slices.Equal(ev, []string{linkvault.EventConnectionCreated, linkvault.EventReauthRequired}) {
			t.Fatalf("events = %v", ev)
		}
	})
	t.Run("Binance-like session: one warning before expiry, re-auth at expiry", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true, sessionTTL: 24 * time.Hour})
		c := h.connect(linkvault.BrokerBinance, "u1", nil)
		expiry := c.AccessExpiresAt
		if !c.NextCheckAt.Equal(expiry.Add(-testPolicy.WarnAhead)) {
			t.Fatalf("created with next check %v, want expiry - WarnAhead", c.NextCheckAt)
		}
		reg := metricstest.NewRegistry(t)
		e := h.engine(refresh.Config{}, reg)
		h.clock.Advance(23*time.Hour + 10*time.Minute)
		runUntil(t, e, "warning sent", func() bool { return slices.Contains(h.eventTypes(c.TokenID), linkvault.EventExpiryWarning) })
		got := h.get(c.TokenID)
		if !got.NextCheckAt.Equal(expiry) || got.Status != linkvault.StatusActive {
			t.Fatalf("after warning: next %v (want the expiry %v), status %s", got.NextCheckAt, expiry, got.Status)
		}
		// More polls before the expiry send nothing more.
		h.clock.Advance(30 * time.Minute)
		polls := reg.Counter("linkvault_refresh_polls_total", map[string]string{"result": "ok"})
		runUntil(t, e, "a few polls", func() bool {
			return reg.Counter("linkvault_refresh_polls_total", map[string]string{"result": "ok"}) > polls+20
		})
		h.clock.Advance(20 * time.Minute)
		runUntil(t, e, "re-auth marked", func() bool { return h.get(c.TokenID).Status == linkvault.StatusReauthRequired })
		want := []string{linkvault.EventConnectionCreated, linkvault.EventExpiryWarning, linkvault.EventReauthRequired}
		if ev := h.eventTypes(c.TokenID); !slices.Equal(ev, want) {
			t.Fatalf("events = %v, want %v", ev, want)
		}
		if h.sim.Binance.Stats().APICalls != 0 {
			t.Errorf("the session checks called the exchange %d times; they need no call", h.sim.Binance.Stats().APICalls)
		}
	})
}

// TestLostLeaseNeverOverwritesAndEndsInReauth: a worker whose lease was taken over
// while it waited for the provider writes nothing (fencing). Its provider call had
// rotated the refresh token, so this is the crash window: the next refresh presents
// the spent token, the exchange detects the reuse and revokes the grant, and the
// connection becomes re-auth-required with an event and the same tokenId, never a
// silently broken or lost row.
func TestLostLeaseNeverOverwritesAndEndsInReauth(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
	c := h.connect(linkvault.BrokerCoinbase, "u1", func(c *linkvault.Credential) { c.Expiry = clockStart.Add(time.Minute) })
	h.sim.Coinbase.SetFaults(exchangesim.Faults{Latency: 300 * time.Millisecond})
	reg := metricstest.NewRegistry(t)
	e := h.engine(refresh.Config{QueueConfig: poller.QueueConfig{Owner: "slow-worker"}}, reg)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	var claimed *linkvault.Connection
	waitFor(t, "the engine's claim", func() bool {
		claimed = h.get(c.TokenID)
		return claimed.LeaseOwner == "slow-worker"
	})
	// The lease "expires" (as if the worker had stalled) and another worker takes over.
	intruder, err := h.store.ClaimConnection(t.Context(), testClient, c.TokenID, "intruder", claimed.LeaseExpiresAt, claimed.LeaseExpiresAt.Add(time.Minute))
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	waitFor(t, "the slow worker's write-back", func() bool {
		return reg.Counter("linkvault_refresh_refreshes_total", map[string]string{"outcome": "lease_lost"}) == 1
	})
	stopEngine(t, e)
	got := h.get(c.TokenID)
	if got.Version != intruder.Version || got.LeaseOwner != "intruder" || !bytes.Equal(got.SealedCredential, c.SealedCredential) {
		t.Fatalf("fenced-out worker changed the row: version %d (intruder %d), lease %q", got.Version, intruder.Version, got.LeaseOwner)
	}
	if st := h.sim.Coinbase.Stats(); st.RefreshesOK != 1 {
		t.Fatalf("exchange rotated %d times, want 1", st.RefreshesOK)
	}

	// The intruder gives up its lease; the row is due; the next refresh replays the
	// spent refresh token.
	h.sim.Coinbase.SetFaults(exchangesim.Faults{})
	got.LeaseOwner, got.LeaseExpiresAt = "", time.Time{}
	if err := h.store.UpdateConnection(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Minute)
	runUntil(t, h.engine(refresh.Config{}, nil), "re-auth marked", func() bool { return h.get(c.TokenID).Status == linkvault.StatusReauthRequired })
	if st := h.sim.Coinbase.Stats(); st.RefreshReuseDetected != 1 {
		t.Fatalf("reuse detections = %d, want 1", st.RefreshReuseDetected)
	}
	if ev := h.eventTypes(c.TokenID); !slices.Equal(ev, []string{linkvault.EventConnectionCreated, linkvault.EventReauthRequired}) {
		t.Fatalf("events = %v", ev)
	}
}

// TestStopWaitsForInFlightWork: Stop returns after claimed connections were written
// back; nothing stays leased.
func TestStopWaitsForInFlightWork(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{})
	conns := h.connectMany(linkvault.BrokerSandbox, "user", 20, 4)
	h.sim.Sandbox.SetFaults(exchangesim.Faults{Latency: 100 * time.Millisecond})
	e := h.engine(refresh.Config{QueueConfig: poller.QueueConfig{Workers: 4}}, nil)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "work in flight", func() bool { return h.sim.Sandbox.Stats().TokenCalls > 0 })
	stopEngine(t, e)
	refreshed := 0
	for _, c0 := range conns {
		c := h.get(c0.TokenID)
		if c.LeaseOwner != "" {
			t.Fatalf("a lease survived Stop")
		}
		if c.Version > c0.Version {
			refreshed++
		}
	}
	if st := h.sim.Sandbox.Stats(); int64(refreshed) != st.RefreshesOK || st.RefreshesOK == 0 || st.RefreshesOK == int64(len(conns)) {
		t.Fatalf("%d rows written, exchange rotated %d of %d; want every rotation stored and Stop before the end", refreshed, st.RefreshesOK, len(conns))
	}
}
