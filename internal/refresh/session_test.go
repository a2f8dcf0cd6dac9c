package refresh_test

import (
	"slices"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/testdb"
)

// Issue 13, defect 7: the smaller lifecycle defects. Each subtest failed on main at
// e4dc81f.

// TestSessionUsedUntilItsExpiry: an API call on a Binance-like session (expiring, not
// refreshable) uses it until SessionExpirySkew before its expiry; it was marked
// re-auth-required up to ExpirySkew (30s) before.
func TestSessionUsedUntilItsExpiry(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true, sessionTTL: time.Hour})
	e := h.engine(refresh.Config{}, nil)
	c := h.connect(linkvault.BrokerBinance, "sam", nil)
	expiry := c.AccessExpiresAt
	for _, before := range []time.Duration{25 * time.Second, 5 * time.Second, refresh.DefaultSessionSkew + time.Millisecond} {
		setClock(h, expiry.Add(-before))
		r := h.resolve(c.TokenID)
		got, err := e.EnsureFresh(t.Context(), r)
		if err != nil || got != r {
			t.Fatalf("%v before the expiry: EnsureFresh = %v, %v; want the session itself", before, got, err)
		}
		if row := h.get(c.TokenID); row.Status != linkvault.StatusActive || row.Version != c.Version {
			t.Fatalf("%v before the expiry: row status %s version %d (want active, unwritten)", before, row.Status, row.Version)
		}
	}
	// Within the skew (and after the expiry) it needs the user.
	setClock(h, expiry.Add(-refresh.DefaultSessionSkew))
	if _, err := e.EnsureFresh(t.Context(), h.resolve(c.TokenID)); linkvault.ErrorType(err) != linkvault.ErrTypeReauthRequired {
		t.Fatalf("at expiry - skew: err = %v, want reauthenticationRequired", err)
	}
	if row := h.get(c.TokenID); row.Status != linkvault.StatusReauthRequired {
		t.Fatalf("row status %s, want reauth_required", row.Status)
	}
}

// TestShortSessionIsWarned: a session shorter than WarnAhead (1h) gets its
// connection.expiry_warning a fifth of its life ahead (WarnFraction) and is marked
// re-auth-required at its expiry; with the fixed 1h lead the warning was never sent.
func TestShortSessionIsWarned(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true, sessionTTL: 30 * time.Minute})
	c := h.connect(linkvault.BrokerBinance, "tess", nil)
	expiry := c.AccessExpiresAt
	lead := h.vault.Policy().WarnLead(expiry.Sub(c.CreatedAt))
	if lead <= 0 || lead >= 30*time.Minute || !c.NextCheckAt.Equal(expiry.Add(-lead)) {
		t.Fatalf("created with next check %v before the expiry, want the lead %v (0 < lead < 30m)", expiry.Sub(c.NextCheckAt), lead)
	}
	e := h.engine(refresh.Config{}, nil)
	setClock(h, expiry.Add(-lead))
	runUntil(t, e, "warning sent", func() bool { return slices.Contains(h.eventTypes(c.TokenID), linkvault.EventExpiryWarning) })
	if got := h.get(c.TokenID); !got.NextCheckAt.Equal(expiry) || got.Status != linkvault.StatusActive {
		t.Fatalf("after the warning: next check %v (want the expiry %v), status %s", got.NextCheckAt, expiry, got.Status)
	}
	setClock(h, expiry)
	runUntil(t, e, "re-auth marked", func() bool { return h.get(c.TokenID).Status == linkvault.StatusReauthRequired })
	want := []string{linkvault.EventConnectionCreated, linkvault.EventExpiryWarning, linkvault.EventReauthRequired}
	if ev := h.eventTypes(c.TokenID); !slices.Equal(ev, want) {
		t.Fatalf("events = %v, want %v", ev, want)
	}
}

// TestValidationBackoffCappedAtInterval: transient validation failures back off
// exponentially but never beyond the validation interval, so a credential revoked
// while the exchange fails is found within one interval of its recovery. Before, the
// 30s-doubling backoff (to BackoffMax, 1h) let Uphold revocation detection take 164s
// with a 30s interval.
func TestValidationBackoffCappedAtInterval(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
	interval := h.vault.Policy().ValidateEvery
	c := h.connect(linkvault.BrokerUphold, "uma", nil)
	h.clock.Advance(interval)
	h.sim.Uphold.SetFaults(exchangesim.Faults{ErrorRate: 1})
	// BackoffBase of a fifth of the interval: the third failure's backoff would be
	// 0.4..0.8 of it, the fifth 1.6..3.2 of it.
	e := h.engine(refresh.Config{QueueConfig: poller.QueueConfig{BackoffBase: interval / 5, BackoffMax: 10 * interval}}, nil)
	for failures := 1; failures <= 6; failures++ {
		runUntil(t, e, "failure recorded", func() bool { return h.get(c.TokenID).FailureCount == failures })
		got := h.get(c.TokenID)
		if d := got.NextCheckAt.Sub(h.now()); d <= 0 || d > interval {
			t.Fatalf("after %d failures the next validation is in %v, want within (0, %v] (the validation interval)", failures, d, interval)
		}
		setClock(h, got.NextCheckAt)
	}
	// The exchange recovers; the user had revoked the grant meanwhile.
	if err := h.sim.Uphold.ChangePassword("uma", "another password"); err != nil {
		t.Fatal(err)
	}
	h.sim.Uphold.SetFaults(exchangesim.Faults{})
	next := h.get(c.TokenID).NextCheckAt
	setClock(h, next)
	runUntil(t, e, "re-auth marked", func() bool { return h.get(c.TokenID).Status == linkvault.StatusReauthRequired })
}

// setClock moves the harness's manual clock to t (forward only).
func setClock(h *harness, t time.Time) {
	h.t.Helper()
	if d := t.Sub(h.now()); d > 0 {
		h.clock.Advance(d)
	} else if d < 0 {
		h.t.Fatalf("setClock: %v is %v in the past", t, -d)
	}
}
