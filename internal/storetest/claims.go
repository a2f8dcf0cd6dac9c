package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// dueConnection returns a connection of a distinct user, due at next.
func dueConnection(user string, next time.Time) *linkvault.Connection {
	c := newConnection("client-a", user, linkvault.BrokerCoinbase, linkvault.PermissionRead)
	c.NextCheckAt = next
	return c
}

func tokenIDs(list []*linkvault.Connection) []string {
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.TokenID
	}
	return ids
}

func testClaimDueSelection(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Hour)
	leased := func(user string, next time.Time, until time.Time) *linkvault.Connection {
		c := dueConnection(user, next)
		c.LeaseOwner, c.LeaseExpiresAt = "other-worker", until
		return c
	}
	rows := map[string]*linkvault.Connection{
		"due 2m ago":                    dueConnection("u-a", now.Add(-2*time.Minute)),
		"due 1m ago":                    dueConnection("u-b", now.Add(-time.Minute)),
		"due exactly now":               dueConnection("u-c", now),
		"due in 1s":                     dueConnection("u-d", now.Add(time.Second)),
		"never due":                     dueConnection("u-e", time.Time{}),
		"live lease":                    leased("u-f", now.Add(-3*time.Minute), now.Add(time.Minute)),
		"lease expired 1s ago":          leased("u-g", now.Add(-4*time.Minute), now.Add(-time.Second)),
		"lease expiring exactly at now": leased("u-h", now.Add(-5*time.Minute), now),
	}
	for _, c := range rows {
		mustCreateConnection(t, s, c)
	}
	leaseUntil := now.Add(5 * time.Minute)

	first, err := s.ClaimDueConnections(ctx, now, "worker-1", leaseUntil, 3)
	if err != nil {
		t.Fatalf("ClaimDueConnections: %v", err)
	}
	want := []string{rows["lease expiring exactly at now"].TokenID, rows["lease expired 1s ago"].TokenID, rows["due 2m ago"].TokenID}
	if fmt.Sprint(tokenIDs(first)) != fmt.Sprint(want) {
		t.Fatalf("first claim = %v, want the 3 earliest claimable %v", tokenIDs(first), want)
	}
	for _, c := range first {
		if c.LeaseOwner != "worker-1" || !sameInstant(c.LeaseExpiresAt, leaseUntil) || c.Version != 2 {
			t.Errorf("claimed row: owner %q until %v version %d; want worker-1, %v, 2", c.LeaseOwner, c.LeaseExpiresAt, c.Version, leaseUntil)
		}
		stored := mustGetConnection(t, s, "client-a", c.TokenID)
		checkConnection(t, c, stored)
	}

	second, err := s.ClaimDueConnections(ctx, now, "worker-2", leaseUntil, 10)
	if err != nil {
		t.Fatalf("ClaimDueConnections: %v", err)
	}
	want = []string{rows["due 1m ago"].TokenID, rows["due exactly now"].TokenID}
	if fmt.Sprint(tokenIDs(second)) != fmt.Sprint(want) {
		t.Fatalf("second claim = %v, want %v", tokenIDs(second), want)
	}

	third, err := s.ClaimDueConnections(ctx, now, "worker-3", leaseUntil, 10)
	if err != nil || len(third) != 0 {
		t.Fatalf("third claim = %v, %v; want nothing left", tokenIDs(third), err)
	}
	if none, err := s.ClaimDueConnections(ctx, now.Add(time.Hour), "worker-4", leaseUntil, 0); err != nil || len(none) != 0 {
		t.Fatalf("claim with limit 0 = %v, %v; want nothing", tokenIDs(none), err)
	}

	// Unclaimed rows are untouched.
	for _, name := range []string{"due in 1s", "never due", "live lease"} {
		checkConnection(t, rows[name], mustGetConnection(t, s, "client-a", rows[name].TokenID))
	}
}

// testClaimConcurrent has several claimers drain one due set at once: every row is
// claimed by exactly one of them.
func testClaimConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const rows, claimers, batch = 200, 8, 7
	now := t0.Add(time.Hour)
	for i := range rows {
		mustCreateConnection(t, s, dueConnection(fmt.Sprintf("user-%03d", i), now.Add(-time.Duration(i)*time.Millisecond)))
	}

	claimed := drainConcurrently(t, claimers, func(w int) ([]*linkvault.Connection, error) {
		return s.ClaimDueConnections(ctx, now, fmt.Sprintf("worker-%d", w), now.Add(time.Minute), batch)
	})
	owners := map[string]string{}
	for w, list := range claimed {
		owner := fmt.Sprintf("worker-%d", w)
		for _, c := range list {
			if prev, dup := owners[c.TokenID]; dup {
				t.Errorf("row %s claimed by both %s and %s", c.TokenID, prev, owner)
			}
			owners[c.TokenID] = owner
			if c.LeaseOwner != owner || c.Version != 2 {
				t.Errorf("row %s: owner %q version %d; want %s, 2", c.TokenID, c.LeaseOwner, c.Version, owner)
			}
		}
	}
	if len(owners) != rows {
		t.Fatalf("%d distinct rows claimed, want all %d", len(owners), rows)
	}
	if rest, err := s.ClaimDueConnections(ctx, now, "late-worker", now.Add(time.Minute), rows); err != nil || len(rest) != 0 {
		t.Fatalf("claim after drain = %d rows, %v; want none", len(rest), err)
	}
}

// testClaimLeaseExpiry: an expired lease can be taken over, the takeover bumps the
// version so the old owner's write-back conflicts, and clearing the lease releases it.
func testClaimLeaseExpiry(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Hour)
	c := mustCreateConnection(t, s, dueConnection("user-1", now.Add(-time.Minute)))

	a, err := s.ClaimDueConnections(ctx, now, "worker-a", now.Add(time.Minute), 10)
	if err != nil || len(a) != 1 {
		t.Fatalf("claim by A = %v, %v; want the row", tokenIDs(a), err)
	}
	heldByA := a[0]

	if got, err := s.ClaimDueConnections(ctx, now.Add(30*time.Second), "worker-b", now.Add(2*time.Minute), 10); err != nil || len(got) != 0 {
		t.Fatalf("claim by B during A's lease = %v, %v; want nothing", tokenIDs(got), err)
	}

	b, err := s.ClaimDueConnections(ctx, now.Add(2*time.Minute), "worker-b", now.Add(3*time.Minute), 10)
	if err != nil || len(b) != 1 || b[0].TokenID != c.TokenID {
		t.Fatalf("claim by B after A's lease expired = %v, %v; want the row", tokenIDs(b), err)
	}
	heldByB := b[0]
	if heldByB.LeaseOwner != "worker-b" || heldByB.Version != heldByA.Version+1 {
		t.Errorf("B's claim: owner %q version %d; want worker-b, %d", heldByB.LeaseOwner, heldByB.Version, heldByA.Version+1)
	}

	// A finishes late: its write-back is fenced out.
	heldByA.SealedCredential = []byte("written by a worker that lost its lease")
	heldByA.LeaseOwner, heldByA.LeaseExpiresAt = "", time.Time{}
	requireStatus(t, "UpdateConnection by the expired lease holder", s.UpdateConnection(ctx, heldByA), linkvault.StatusConflict)
	checkConnection(t, heldByB, mustGetConnection(t, s, "client-a", c.TokenID))

	// B releases its lease early, leaving the row due: another worker can claim it
	// before B's lease would have expired.
	heldByB.LeaseOwner, heldByB.LeaseExpiresAt = "", time.Time{}
	if err := s.UpdateConnection(ctx, heldByB); err != nil {
		t.Fatalf("UpdateConnection releasing the lease: %v", err)
	}
	got := mustGetConnection(t, s, "client-a", c.TokenID)
	if got.LeaseOwner != "" || !got.LeaseExpiresAt.IsZero() {
		t.Fatalf("lease not cleared: owner %q until %v", got.LeaseOwner, got.LeaseExpiresAt)
	}
	cl, err := s.ClaimDueConnections(ctx, now.Add(2*time.Minute+time.Second), "worker-c", now.Add(4*time.Minute), 10)
	if err != nil || len(cl) != 1 || cl[0].LeaseOwner != "worker-c" {
		t.Fatalf("claim after release = %v, %v; want the row for worker-c", tokenIDs(cl), err)
	}
}
