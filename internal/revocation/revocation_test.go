package revocation_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/metricstest"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/revocation"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/testdb"
)

// scriptedRevoker answers each revocation with the next error of its script (nil when
// the script is used up) and records the access tokens it was given.
type scriptedRevoker struct {
	mu     sync.Mutex
	script []error
	got    []string
}

func (r *scriptedRevoker) Revoke(_ context.Context, _ linkvault.BrokerType, c linkvault.Credential) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c.AccessToken.Reveal())
	if len(r.script) == 0 {
		return nil
	}
	err := r.script[0]
	r.script = r.script[1:]
	return err
}

type fixture struct {
	db     *sqlite.DB
	raw    *testdb.Intruder
	sealer linkvault.Sealer
	q      *revocation.Queue
	rev    *scriptedRevoker
	reg    *metricstest.Registry
	now    time.Time
}

// drain starts the queue's workers (stopped when the test ends) and waits until the
// queue is empty, failing with why otherwise.
func (f *fixture) drain(t *testing.T, why string) {
	t.Helper()
	if err := f.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.q.Stop(context.Background()) })
	deadline := time.Now().Add(30 * time.Second)
	for f.depth(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatal(why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newFixture(t *testing.T, script ...error) *fixture {
	t.Helper()
	db, raw := testdb.SQLiteWithIntruder(t)
	f := &fixture{db: db, raw: raw, sealer: envelopetest.Keyring(t, db, time.Now), rev: &scriptedRevoker{script: script}, reg: metricstest.NewRegistry(t), now: time.Now()}
	var err error
	f.q, err = revocation.New(revocation.Config{QueueConfig: poller.QueueConfig{Now: func() time.Time { return f.now }, BackoffBase: time.Second, BackoffMax: 4 * time.Second}},
		revocation.Deps{Store: db, Opener: f.sealer, Revoker: f.rev, Registerer: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateClient(t.Context(), &linkvault.Client{ID: "app1", Name: "app1", CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	return f
}

// enqueue removes a stored connection with its credential queued, as the vault does,
// leased to the queue, and returns the entry.
func (f *fixture) enqueue(t *testing.T, access string) linkvault.PendingRevocation {
	t.Helper()
	c := &linkvault.Connection{TokenID: linkvault.NewTokenID(), ConnectionIdentity: linkvault.ConnectionIdentity{
		ClientID: "app1", UserID: "u-" + access, BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead}, Status: linkvault.StatusActive}
	if err := f.db.CreateConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	r := linkvault.PendingRevocation{ID: linkvault.NewRevocationID(), ClientID: "app1", TokenID: c.TokenID,
		BrokerType: linkvault.BrokerCoinbase, Reason: linkvault.RevocationReasonRemoved, CreatedAt: f.now}
	var err error
	r.Sealed, r.KeyVersion, err = f.sealer.Seal(t.Context(), "app1", r.SealID(), linkvault.EncodeCredential(linkvault.Credential{AccessToken: linkvault.NewSecret(access)}))
	if err != nil {
		t.Fatal(err)
	}
	r.LeaseOwner, r.LeaseExpiresAt = f.q.Lease(f.now)
	if err := f.db.RemoveConnection(t.Context(), linkvault.Removal{ClientID: "app1", TokenID: c.TokenID, Revocations: []linkvault.PendingRevocation{r}}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) depth(t *testing.T) int64 {
	t.Helper()
	n, _, err := f.db.CountRevocations(t.Context(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) revokedEvents(t *testing.T) []string {
	t.Helper()
	evs, err := f.db.PendingEvents(t.Context(), "app1")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range evs {
		if e.Type != linkvault.EventConnectionRevoked {
			continue
		}
		var d struct {
			Details struct{ Revocation string } `json:"details"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		states = append(states, d.Details.Revocation)
	}
	return states
}

func transient(code string, retryAfter time.Duration) error {
	return &linkvault.ProviderError{Kind: linkvault.ProviderTransient, Code: code, RetryAfter: retryAfter}
}

// TestTryOutcomes: what the exchange answers decides what happens to the entry.
func TestTryOutcomes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		answer    error
		want      linkvault.RevocationState
		wantDepth int64
		wantEvent []string
	}{
		{"confirmed", nil, linkvault.RevocationRevoked, 0, []string{"revoked"}},
		{"transient 503", transient("http_503", 0), linkvault.RevocationPending, 1, nil},
		{"no answer", context.DeadlineExceeded, linkvault.RevocationPending, 1, nil},
		{"refused for good", &linkvault.ProviderError{Kind: linkvault.ProviderRejected, Code: "invalid_client", StatusCode: 401},
			linkvault.RevocationRefused, 0, []string{"revocationRefused"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.answer)
			r := f.enqueue(t, "at-1")
			if got := f.q.Try(t.Context(), r, linkvault.Credential{AccessToken: linkvault.NewSecret("at-1")}); got != tt.want {
				t.Fatalf("state = %q, want %q", got, tt.want)
			}
			if d := f.depth(t); d != tt.wantDepth {
				t.Fatalf("queue depth %d, want %d", d, tt.wantDepth)
			}
			if got := f.revokedEvents(t); len(got) != len(tt.wantEvent) || (len(got) == 1 && got[0] != tt.wantEvent[0]) {
				t.Fatalf("connection.revoked events %v, want %v", got, tt.wantEvent)
			}
			if got := f.outcome(t, string(tt.want)); got != 1 {
				t.Fatalf("outcome metric %s = %v, want 1", tt.want, got)
			}
		})
	}
}

// outcome reads linkvault_revocation_outcomes_total{broker="coinbase",reason="removed",state}.
func (f *fixture) outcome(t *testing.T, state string) float64 {
	t.Helper()
	return f.reg.Counter("linkvault_revocation_outcomes_total", map[string]string{"broker": "coinbase", "reason": "removed", "state": state})
}

// TestWorkersRetryWithCappedBackoffUntilConfirmed: the workers claim the entry after
// the caller's attempt failed, honour the backoff (capped at BackoffMax even when the
// exchange's Retry-After is longer) and finish once the exchange confirms.
func TestWorkersRetryWithCappedBackoffUntilConfirmed(t *testing.T) {
	f := newFixture(t, transient("http_503", 0), transient("http_429", time.Hour), transient("http_503", 0))
	r := f.enqueue(t, "at-2")
	if got := f.q.Try(t.Context(), r, linkvault.Credential{AccessToken: linkvault.NewSecret("at-2")}); got != linkvault.RevocationPending {
		t.Fatalf("first try: %q", got)
	}
	claimAt := func(at time.Time) []linkvault.PendingRevocation {
		got, err := f.db.ClaimRevocations(t.Context(), at, "probe", at.Add(time.Millisecond), 10)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for attempt, wantMax := range []time.Duration{time.Second, 4 * time.Second} {
		// Nothing is due before the backoff's lower half has passed.
		if got := claimAt(f.now.Add(wantMax/2 - time.Millisecond)); len(got) != 0 {
			t.Fatalf("attempt %d: due before its backoff", attempt+2)
		}
		// Find the entry once due (at most wantMax later), and work it as a worker would.
		f.now = f.now.Add(wantMax)
		got, err := f.db.ClaimRevocations(t.Context(), f.now, "worker", f.now.Add(time.Minute), 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("attempt %d: claimed %d entries (%v)", attempt+2, len(got), err)
		}
		if state := f.q.Try(t.Context(), got[0], linkvault.Credential{AccessToken: linkvault.NewSecret("at-2")}); state != linkvault.RevocationPending {
			t.Fatalf("attempt %d: %q", attempt+2, state)
		}
	}
	// The fourth attempt, by the background workers, is confirmed.
	f.now = f.now.Add(4 * time.Second)
	f.drain(t, "the workers never finished the entry")
	if got := f.revokedEvents(t); len(got) != 1 || got[0] != "revoked" {
		t.Fatalf("events %v", got)
	}
	if len(f.rev.got) != 4 {
		t.Fatalf("%d calls to the exchange, want 4", len(f.rev.got))
	}
}

// TestUnreadableEntryIsFinishedAndCounted: an entry whose sealed copy does not open
// (here: sealed for another entry, as a database writer could copy it) is finished as
// revocationUnreadable, counted and told to the app; the exchange is not called.
func TestUnreadableEntryIsFinishedAndCounted(t *testing.T) {
	f := newFixture(t)
	good := f.enqueue(t, "at-3")
	bad := f.enqueue(t, "at-4")
	f.raw.Exec(`UPDATE revocations SET sealed = $1 WHERE id = $2`, good.Sealed, bad.ID)
	f.raw.Exec(`UPDATE revocations SET lease_owner = '', lease_expires_at = NULL`)
	f.drain(t, "entries never finished")
	states := f.revokedEvents(t)
	slices.Sort(states)
	if !slices.Equal(states, []string{"revocationUnreadable", "revoked"}) {
		t.Fatalf("states %v, want one revoked and one revocationUnreadable", states)
	}
	if len(f.rev.got) != 1 || f.rev.got[0] != "at-3" {
		t.Fatalf("exchange got %v, want only at-3", f.rev.got)
	}
}
