package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// The durable revocation queue (internal/revocation.Store): entries are written only
// with the change that made the credential obsolete, claimed under leases that
// concurrent claimers never share, retried and finished only under the lease.

func newRevocation(t *testing.T, c *linkvault.Connection, reason string, created time.Time) linkvault.PendingRevocation {
	return linkvault.PendingRevocation{
		ID: linkvault.NewRevocationID(), ClientID: c.ClientID, TokenID: c.TokenID, BrokerType: c.BrokerType,
		Reason: reason, Sealed: randomBytes(t, 300), KeyVersion: 3, CreatedAt: created,
	}
}

func claimRevocations(t *testing.T, s Store, now time.Time, owner string, limit int) []linkvault.PendingRevocation {
	t.Helper()
	got, err := s.ClaimRevocations(t.Context(), now, owner, now.Add(time.Minute), limit)
	if err != nil {
		t.Fatalf("ClaimRevocations: %v", err)
	}
	return got
}

func countRevocations(t *testing.T, s Store, now time.Time) (total, due int64) {
	t.Helper()
	total, due, err := s.CountRevocations(t.Context(), now)
	if err != nil {
		t.Fatalf("CountRevocations: %v", err)
	}
	return total, due
}

func testRevocationQueue(t *testing.T, s Store) {
	ctx := t.Context()
	removed := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	replaced := mustCreateConnection(t, s, newConnection("client-a", "user-2", linkvault.BrokerUphold, linkvault.PermissionWrite))

	// A removal of a connection that is not there queues nothing.
	ghost := newConnection("client-a", "ghost", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	err := s.RemoveConnection(ctx, linkvault.Removal{ClientID: "client-a", TokenID: ghost.TokenID, Revocations: []linkvault.PendingRevocation{newRevocation(t, ghost, linkvault.RevocationReasonRemoved, t0)}})
	requireStatus(t, "RemoveConnection of a missing connection", err, linkvault.StatusNotFound)
	// Nor does a stale update.
	stale := *replaced
	stale.Version = 42
	err = s.UpdateConnectionRevoking(ctx, &stale, []linkvault.PendingRevocation{newRevocation(t, replaced, linkvault.RevocationReasonReplaced, t0)})
	requireStatus(t, "UpdateConnectionRevoking stale", err, linkvault.StatusConflict)
	if total, _ := countRevocations(t, s, t0.Add(time.Hour)); total != 0 {
		t.Fatalf("queue holds %d entries after failed changes, want 0", total)
	}

	// Removal: the row goes, the entry comes, in one transaction.
	r1 := newRevocation(t, removed, linkvault.RevocationReasonRemoved, t0)
	if err := s.RemoveConnection(ctx, linkvault.Removal{ClientID: "client-a", TokenID: removed.TokenID, Revocations: []linkvault.PendingRevocation{r1}}); err != nil {
		t.Fatalf("RemoveConnection: %v", err)
	}
	requireStatus(t, "GetConnection after removal", func() error { _, err := s.GetConnection(ctx, "client-a", removed.TokenID); return err }(), linkvault.StatusNotFound)
	// Replacement: the new credential and the old one's entry, in one transaction; the
	// entry is due later and already leased (the vault tries it itself).
	r2 := newRevocation(t, replaced, linkvault.RevocationReasonReplaced, t0)
	r2.NextAttemptAt = t0.Add(10 * time.Second)
	r2.LeaseOwner, r2.LeaseExpiresAt = "vault/lease-1", t0.Add(30*time.Second)
	replaced.SealedCredential = []byte("new-credential")
	if err := s.UpdateConnectionRevoking(ctx, replaced, []linkvault.PendingRevocation{r2}); err != nil {
		t.Fatalf("UpdateConnectionRevoking: %v", err)
	}
	if got := mustGetConnection(t, s, "client-a", replaced.TokenID); !bytes.Equal(got.SealedCredential, []byte("new-credential")) {
		t.Fatalf("credential not replaced")
	}
	if total, due := countRevocations(t, s, t0); total != 2 || due != 1 {
		t.Fatalf("CountRevocations = %d total, %d due; want 2, 1", total, due)
	}

	// Only due entries whose lease is free are claimed; the claim returns every field.
	got := claimRevocations(t, s, t0, "worker-1", 10)
	if len(got) != 1 || got[0].ID != r1.ID {
		t.Fatalf("claim at t0 = %v, want only %s", got, r1.ID)
	}
	c := got[0]
	if c.ClientID != r1.ClientID || c.TokenID != r1.TokenID || c.BrokerType != r1.BrokerType || c.Reason != r1.Reason ||
		!bytes.Equal(c.Sealed, r1.Sealed) || c.KeyVersion != r1.KeyVersion || c.Attempts != 0 || c.LastError != "" {
		t.Errorf("claimed entry = %+v, want %+v", c, r1)
	}
	checkTime(t, "CreatedAt", r1.CreatedAt, c.CreatedAt)
	checkTime(t, "NextAttemptAt (zero means CreatedAt)", r1.CreatedAt, c.NextAttemptAt)
	checkTime(t, "LeaseExpiresAt", t0.Add(time.Minute), c.LeaseExpiresAt)
	if len(c.LeaseOwner) <= len("worker-1/") || c.LeaseOwner[:len("worker-1/")] != "worker-1/" {
		t.Errorf("lease %q does not name its owner", c.LeaseOwner)
	}
	if again := claimRevocations(t, s, t0.Add(time.Second), "worker-2", 10); len(again) != 0 {
		t.Fatalf("a leased entry was claimed again: %v", again)
	}
	// r2's own lease fences the workers until it lapses.
	if early := claimRevocations(t, s, t0.Add(20*time.Second), "worker-2", 10); len(early) != 0 {
		t.Fatalf("claimed %v while the vault's lease is live", early)
	}

	// Retry under the lease: attempts, error and next time recorded, lease released.
	requireStatus(t, "RetryRevocation with a wrong lease", s.RetryRevocation(ctx, c.ID, "worker-2/x", 1, t0.Add(time.Minute), "http_503"), linkvault.StatusConflict)
	if err := s.RetryRevocation(ctx, c.ID, c.LeaseOwner, 1, t0.Add(2*time.Minute), "http_503"); err != nil {
		t.Fatalf("RetryRevocation: %v", err)
	}
	requireStatus(t, "RetryRevocation after release", s.RetryRevocation(ctx, c.ID, c.LeaseOwner, 2, t0.Add(time.Minute), "x"), linkvault.StatusConflict)
	// r2's vault lease has lapsed (the vault died before it recorded an outcome): a
	// worker takes it over; r1 is still backing off.
	taken := claimRevocations(t, s, t0.Add(time.Minute), "worker-2", 10)
	if len(taken) != 1 || taken[0].ID != r2.ID {
		t.Fatalf("claim at t0+1m = %v, want only %s (r1 backs off until t0+2m)", taken, r2.ID)
	}
	// When worker-2's lease lapses too and r1's backoff is over, both are due; r2 first.
	later := t0.Add(2 * time.Minute)
	both := claimRevocations(t, s, later, "worker-3", 10)
	if len(both) != 2 || both[0].ID != r2.ID || both[1].ID != r1.ID {
		t.Fatalf("claim after backoff = %v, want %s then %s", both, r2.ID, r1.ID)
	}
	if both[1].Attempts != 1 || both[1].LastError != "http_503" {
		t.Errorf("retried entry: attempts %d, last error %q", both[1].Attempts, both[1].LastError)
	}

	// Finish under the lease: the entry and its sealed copy go, its events come.
	ev := linkvault.Event{ID: "evt-revoked", ClientID: "client-a", Type: linkvault.EventConnectionRevoked, TokenID: r1.TokenID, CreatedAt: later}
	requireStatus(t, "FinishRevocation with a wrong lease", s.FinishRevocation(ctx, r1.ID, "worker-1/old", ev), linkvault.StatusConflict)
	if err := s.FinishRevocation(ctx, r1.ID, both[1].LeaseOwner, ev); err != nil {
		t.Fatalf("FinishRevocation: %v", err)
	}
	if evs := pendingEvents(t, s, "client-a"); len(evs) != 1 || evs[0].ID != "evt-revoked" || evs[0].TokenID != r1.TokenID {
		t.Fatalf("events after finish = %+v, want evt-revoked", evs)
	}
	requireStatus(t, "FinishRevocation twice", s.FinishRevocation(ctx, r1.ID, both[1].LeaseOwner), linkvault.StatusConflict)
	requireStatus(t, "FinishRevocation under a lapsed lease", s.FinishRevocation(ctx, r2.ID, taken[0].LeaseOwner), linkvault.StatusConflict)
	if err := s.FinishRevocation(ctx, r2.ID, both[0].LeaseOwner); err != nil {
		t.Fatalf("FinishRevocation without events: %v", err)
	}
	if total, due := countRevocations(t, s, later.Add(time.Hour)); total != 0 || due != 0 {
		t.Fatalf("queue after finishing everything: %d, %d", total, due)
	}
}

// testRevocationClaimsConcurrent: claimers racing over one backlog never get the same
// entry (SKIP LOCKED on PostgreSQL, the single writer on SQLite).
func testRevocationClaimsConcurrent(t *testing.T, s Store) {
	const entries, claimers = 60, 6
	for i := range entries {
		c := mustCreateConnection(t, s, newConnection("client-a", "user-"+linkvault.NewRandomID(6), linkvault.BrokerCoinbase, linkvault.PermissionRead))
		r := newRevocation(t, c, linkvault.RevocationReasonRemoved, t0.Add(time.Duration(i)*time.Millisecond))
		if err := s.RemoveConnection(t.Context(), linkvault.Removal{ClientID: "client-a", TokenID: c.TokenID, Revocations: []linkvault.PendingRevocation{r}}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for w := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimRevocations(t.Context(), t0.Add(time.Second), "w"+string(rune('a'+w)), t0.Add(time.Hour), 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, r := range got {
					seen[r.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != entries {
		t.Fatalf("%d distinct entries claimed, want %d", len(seen), entries)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("entry %s claimed %d times", id, n)
		}
	}
}
