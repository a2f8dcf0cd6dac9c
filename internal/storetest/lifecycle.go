package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// lifecycleTests are the conformance tests of the lifecycle engine's leases
// (refresh.Store), of webhook delivery (the webhook store interfaces) and of the
// retention pruning of webhook events and the audit log, added to Run's list.
func lifecycleTests() []conformanceTest {
	return []conformanceTest{
		{"ClaimConnection", testClaimConnection},
		{"ClaimConnectionConcurrent", testClaimConnectionConcurrent},
		{"CountDueConnections", testCountDue},
		{"WebhookClaimAndRecord", testWebhookClaimAndRecord},
		{"WebhookConcurrentClaimersNeverShareEvents", testWebhookClaimConcurrent},
		{"WebhookLeaseExpiryFencesOldClaim", testWebhookLeaseExpiry},
		{"WebhookSecrets", testWebhookSecrets},
		{"WebhookPrune", testWebhookPrune},
		{"WebhookPruneConcurrent", testWebhookPruneConcurrent},
		{"AuditPruneBatches", testAuditPruneBatches},
	}
}

// testClaimConnection: a free row can be claimed once; a live lease (whoever holds
// it) refuses further claims; an expired one is taken over and fences the old holder
// out; another client's tokenId is not found, like an unknown one.
func testClaimConnection(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Hour)
	c := mustCreateConnection(t, s, dueConnection("user-1", now.Add(time.Hour)))

	got, err := s.ClaimConnection(ctx, "client-a", c.TokenID, "replica-1", now, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("ClaimConnection of a free row: %v", err)
	}
	if got.LeaseOwner != "replica-1" || !sameInstant(got.LeaseExpiresAt, now.Add(time.Minute)) || got.Version != 2 {
		t.Fatalf("claimed: owner %q until %v version %d; want replica-1, %v, 2", got.LeaseOwner, got.LeaseExpiresAt, got.Version, now.Add(time.Minute))
	}
	checkConnection(t, got, mustGetConnection(t, s, "client-a", c.TokenID))
	if !sameInstant(got.NextCheckAt, c.NextCheckAt) || string(got.SealedCredential) != string(c.SealedCredential) {
		t.Errorf("claim changed more than the lease: next %v sealed %q", got.NextCheckAt, got.SealedCredential)
	}

	for _, owner := range []string{"replica-2", "replica-1"} {
		_, err := s.ClaimConnection(ctx, "client-a", c.TokenID, owner, now.Add(59*time.Second), now.Add(2*time.Minute))
		requireStatus(t, "ClaimConnection by "+owner+" during a live lease", err, linkvault.StatusConflict)
	}
	// A due-set claim skips it too.
	if due, err := s.ClaimDueConnections(ctx, now.Add(2*time.Hour), "replica-3", now.Add(3*time.Hour), 10); err != nil || len(due) != 1 {
		t.Fatalf("ClaimDueConnections after the on-demand lease expired = %v, %v; want the row", tokenIDs(due), err)
	}

	_, err = s.ClaimConnection(ctx, "client-a", "no-such-token", "replica-1", now, now.Add(time.Minute))
	requireTokenNotFound(t, "ClaimConnection of an unknown tokenId", err)
	_, err = s.ClaimConnection(ctx, "client-b", c.TokenID, "replica-1", now, now.Add(time.Minute))
	requireTokenNotFound(t, "ClaimConnection of another client's tokenId", err)

	// The lease taken by the due-set claim expires at now+3h: a claim then wins and
	// fences out the due-set holder.
	heldByDue := mustGetConnection(t, s, "client-a", c.TokenID)
	taken, err := s.ClaimConnection(ctx, "client-a", c.TokenID, "replica-2", now.Add(3*time.Hour), now.Add(4*time.Hour))
	if err != nil {
		t.Fatalf("ClaimConnection at the instant the lease expires: %v", err)
	}
	if taken.Version != heldByDue.Version+1 {
		t.Errorf("takeover version = %d, want %d", taken.Version, heldByDue.Version+1)
	}
	heldByDue.SealedCredential = []byte("late write of the expired holder")
	requireStatus(t, "UpdateConnection by the fenced-out holder", s.UpdateConnection(ctx, heldByDue), linkvault.StatusConflict)

	// Releasing the lease makes the row claimable at once.
	taken.LeaseOwner, taken.LeaseExpiresAt = "", time.Time{}
	if err := s.UpdateConnection(ctx, taken); err != nil {
		t.Fatalf("UpdateConnection releasing the lease: %v", err)
	}
	if _, err := s.ClaimConnection(ctx, "client-a", c.TokenID, "replica-1", now.Add(3*time.Hour+time.Second), now.Add(5*time.Hour)); err != nil {
		t.Fatalf("ClaimConnection after release: %v", err)
	}
}

// testClaimConnectionConcurrent: many claimers race for one row; exactly one wins.
func testClaimConnectionConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Hour)
	c := mustCreateConnection(t, s, dueConnection("user-1", now))
	const claimers = 16
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		winners   []string
		conflicts int
		errs      []error
	)
	for i := range claimers {
		wg.Go(func() {
			owner := fmt.Sprintf("replica-%d", i)
			_, err := s.ClaimConnection(ctx, "client-a", c.TokenID, owner, now, now.Add(time.Minute))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, owner)
			case linkvault.IsConflict(err):
				conflicts++
			default:
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if len(winners) != 1 || conflicts != claimers-1 {
		t.Fatalf("winners %v, conflicts %d; want exactly one winner and %d conflicts", winners, conflicts, claimers-1)
	}
	if got := mustGetConnection(t, s, "client-a", c.TokenID); got.LeaseOwner != winners[0] || got.Version != 2 {
		t.Fatalf("stored lease %q version %d; want %s, 2", got.LeaseOwner, got.Version, winners[0])
	}
}

func testCountDue(t *testing.T, s Store) {
	now := t0.Add(time.Hour)
	for i, next := range []time.Time{now.Add(-time.Hour), now, now.Add(time.Nanosecond * 1000), {}, now.Add(-time.Second)} {
		mustCreateConnection(t, s, dueConnection(fmt.Sprintf("user-%d", i), next))
	}
	n, err := s.CountDueConnections(t.Context(), now)
	if err != nil || n != 3 {
		t.Fatalf("CountDueConnections = %d, %v; want 3", n, err)
	}
	// Leased rows still count: they are due work in progress.
	if _, err := s.ClaimDueConnections(t.Context(), now, "w", now.Add(time.Minute), 2); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountDueConnections(t.Context(), now); err != nil || n != 3 {
		t.Fatalf("CountDueConnections with leases = %d, %v; want 3", n, err)
	}
}

// outboxEvent creates a connection of client with one event at the given time.
func outboxEvent(t *testing.T, s Store, clientID, user, id string, at time.Time) linkvault.Event {
	t.Helper()
	c := newConnection(clientID, user, linkvault.BrokerSandbox, linkvault.PermissionRead)
	ev := linkvault.Event{ID: id, ClientID: clientID, Type: linkvault.EventConnectionCreated, TokenID: c.TokenID,
		Data: json.RawMessage(`{"tokenId":"` + c.TokenID + `"}`), CreatedAt: at}
	mustCreateConnection(t, s, c, ev)
	return ev
}

func pendingIDs(ps []linkvault.WebhookClaim) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.Event.ID
	}
	return ids
}

// testWebhookClaimAndRecord walks events through claim, retry, delivery, failure and
// skipping, checking the delivery log and the backlog count at each step.
func testWebhookClaimAndRecord(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0
	client := mustCreateClient(t, s, "client-a")
	if err := s.SetClientWebhookURL(ctx, client.ID, "https://app.example/hooks"); err != nil {
		t.Fatal(err)
	}
	e1 := outboxEvent(t, s, "client-a", "user-1", "evt-1", now)
	e2 := outboxEvent(t, s, "client-a", "user-2", "evt-2", now.Add(time.Second))
	e3 := outboxEvent(t, s, "client-a", "user-3", "evt-3", now.Add(2*time.Second))
	outboxEvent(t, s, "client-nohook", "user-1", "evt-4", now.Add(3*time.Second))
	outboxEvent(t, s, "client-a", "user-5", "evt-later", now.Add(time.Hour))

	if n, err := s.CountPendingWebhookEvents(ctx); err != nil || n != 5 {
		t.Fatalf("CountPendingWebhookEvents = %d, %v; want 5", n, err)
	}
	at := now.Add(10 * time.Second)
	got, err := s.ClaimWebhookEvents(ctx, at, "replica-1", at.Add(time.Minute), 10)
	if err != nil {
		t.Fatalf("ClaimWebhookEvents: %v", err)
	}
	if fmt.Sprint(pendingIDs(got)) != "[evt-1 evt-2 evt-3 evt-4]" {
		t.Fatalf("claimed %v, want the 4 due events oldest first", pendingIDs(got))
	}
	for _, p := range got {
		wantURL := "https://app.example/hooks"
		if p.Event.ClientID == "client-nohook" {
			wantURL = ""
		}
		if p.URL != wantURL || p.Attempts != 0 || p.Lease == "" || len(p.Lease) <= len("replica-1") || p.Lease[:len("replica-1")] != "replica-1" {
			t.Errorf("claimed %s: url %q attempts %d lease %q; want url %q, 0 attempts, a lease starting with the owner", p.Event.ID, p.URL, p.Attempts, p.Lease, wantURL)
		}
	}
	if p := got[0]; p.Event.Type != e1.Type || p.Event.TokenID != e1.TokenID || string(p.Event.Data) != string(e1.Data) || !sameInstant(p.Event.CreatedAt, e1.CreatedAt) {
		t.Errorf("claimed event = %+v (data %s), want %+v (data %s)", p.Event, p.Event.Data, e1, e1.Data)
	}
	if again, err := s.ClaimWebhookEvents(ctx, at, "replica-2", at.Add(time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("second claim during the leases = %v, %v; want nothing", pendingIDs(again), err)
	}

	rec := func(p linkvault.WebhookClaim, attempt int, outcome linkvault.WebhookOutcome, status int, code string, next time.Time, when time.Time) linkvault.WebhookAttempt {
		return linkvault.WebhookAttempt{EventID: p.Event.ID, ClientID: p.Event.ClientID, Lease: p.Lease, Attempt: attempt,
			StatusCode: status, ErrorCode: code, Duration: 1500 * time.Millisecond, AttemptedAt: when, Outcome: outcome, NextAttemptAt: next}
	}
	// A record under a foreign lease is refused and writes nothing.
	forged := rec(got[0], 1, linkvault.WebhookDelivered, 200, "", time.Time{}, at)
	forged.Lease = "replica-2/forged"
	requireStatus(t, "RecordWebhookAttempt under a foreign lease", s.RecordWebhookAttempt(ctx, forged), linkvault.StatusConflict)

	must := func(r linkvault.WebhookAttempt) {
		t.Helper()
		if err := s.RecordWebhookAttempt(ctx, r); err != nil {
			t.Fatalf("RecordWebhookAttempt(%s, %s): %v", r.EventID, r.Outcome, err)
		}
	}
	must(rec(got[0], 1, linkvault.WebhookDelivered, 204, "", time.Time{}, at.Add(time.Second)))
	must(rec(got[1], 1, linkvault.WebhookRetry, 503, "http_503", at.Add(time.Minute), at.Add(2*time.Second)))
	must(rec(got[2], 1, linkvault.WebhookFailed, 410, "http_410", time.Time{}, at.Add(3*time.Second)))
	must(rec(got[3], 1, linkvault.WebhookSkipped, 0, "no_webhook_url", time.Time{}, at.Add(4*time.Second)))
	// The same lease cannot record twice.
	requireStatus(t, "RecordWebhookAttempt twice", s.RecordWebhookAttempt(ctx, rec(got[0], 1, linkvault.WebhookDelivered, 200, "", time.Time{}, at)), linkvault.StatusConflict)

	checkEventIDs(t, "pending after delivery", pendingEvents(t, s, "client-a"), e2.ID, e3.ID, "evt-later")
	if n, err := s.CountPendingWebhookEvents(ctx); err != nil || n != 2 {
		t.Fatalf("CountPendingWebhookEvents = %d, %v; want 2 (the retry and the later one)", n, err)
	}
	if early, err := s.ClaimWebhookEvents(ctx, at.Add(59*time.Second), "replica-2", at.Add(2*time.Minute), 10); err != nil || len(early) != 0 {
		t.Fatalf("claim before the retry is due = %v, %v; want nothing", pendingIDs(early), err)
	}
	retry, err := s.ClaimWebhookEvents(ctx, at.Add(time.Minute), "replica-2", at.Add(2*time.Minute), 10)
	if err != nil || len(retry) != 1 || retry[0].Event.ID != e2.ID || retry[0].Attempts != 1 {
		t.Fatalf("claim when the retry is due = %+v, %v; want evt-2 with 1 attempt", retry, err)
	}
	must(rec(retry[0], 2, linkvault.WebhookDelivered, 200, "", time.Time{}, at.Add(time.Minute+time.Second)))

	log, err := s.ListWebhookDeliveries(ctx, "client-a", 10)
	if err != nil {
		t.Fatalf("ListWebhookDeliveries: %v", err)
	}
	var lines []string
	for _, d := range log {
		lines = append(lines, fmt.Sprintf("%s#%d %d %s", d.EventID, d.Attempt, d.StatusCode, d.ErrorCode))
		if d.EventType != linkvault.EventConnectionCreated || d.Duration != 1500*time.Millisecond || d.AttemptedAt.IsZero() {
			t.Errorf("delivery %s#%d: type %q duration %v at %v", d.EventID, d.Attempt, d.EventType, d.Duration, d.AttemptedAt)
		}
	}
	want := []string{"evt-2#2 200 ", "evt-3#1 410 http_410", "evt-2#1 503 http_503", "evt-1#1 204 "}
	if !slices.Equal(lines, want) {
		t.Fatalf("delivery log = %q, want newest first %q", lines, want)
	}
	if limited, err := s.ListWebhookDeliveries(ctx, "client-a", 1); err != nil || len(limited) != 1 || limited[0].EventID != "evt-2" {
		t.Fatalf("ListWebhookDeliveries limit 1 = %+v, %v", limited, err)
	}
	if other, err := s.ListWebhookDeliveries(ctx, "client-nohook", 10); err != nil || len(other) != 1 || other[0].ErrorCode != "no_webhook_url" {
		t.Fatalf("skipped client's log = %+v, %v; want its one skip", other, err)
	}
	// Finished events are never claimed again.
	if rest, err := s.ClaimWebhookEvents(ctx, now.Add(30*time.Minute), "replica-3", now.Add(31*time.Minute), 10); err != nil || len(rest) != 0 {
		t.Fatalf("claim after everything finished = %v, %v; want nothing", pendingIDs(rest), err)
	}
}

// testWebhookClaimConcurrent: several claimers drain one backlog; every event is
// claimed by exactly one of them.
func testWebhookClaimConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const events, claimers, batch = 120, 6, 5
	for i := range events {
		outboxEvent(t, s, "client-a", fmt.Sprintf("user-%03d", i), fmt.Sprintf("evt-%03d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	at := t0.Add(time.Minute)
	claimed := drainConcurrently(t, claimers, func(w int) ([]linkvault.WebhookClaim, error) {
		return s.ClaimWebhookEvents(ctx, at, fmt.Sprintf("replica-%d", w), at.Add(time.Minute), batch)
	})
	seen := map[string]bool{}
	for _, list := range claimed {
		for _, p := range list {
			if seen[p.Event.ID] {
				t.Errorf("event %s claimed twice", p.Event.ID)
			}
			seen[p.Event.ID] = true
		}
	}
	if len(seen) != events {
		t.Fatalf("%d distinct events claimed, want %d", len(seen), events)
	}
}

// testWebhookLeaseExpiry: an expired claim is taken over, and the old claim can no
// longer record its attempt.
func testWebhookLeaseExpiry(t *testing.T, s Store) {
	ctx := t.Context()
	outboxEvent(t, s, "client-a", "user-1", "evt-1", t0)
	a, err := s.ClaimWebhookEvents(ctx, t0, "replica-1", t0.Add(time.Minute), 10)
	if err != nil || len(a) != 1 {
		t.Fatalf("claim by replica-1 = %v, %v", pendingIDs(a), err)
	}
	b, err := s.ClaimWebhookEvents(ctx, t0.Add(time.Minute), "replica-1", t0.Add(2*time.Minute), 10)
	if err != nil || len(b) != 1 {
		t.Fatalf("claim after the lease expired = %v, %v; want the event", pendingIDs(b), err)
	}
	if a[0].Lease == b[0].Lease {
		t.Fatalf("two claims by one owner share the lease %q; want a distinct lease per claim", a[0].Lease)
	}
	late := linkvault.WebhookAttempt{EventID: "evt-1", ClientID: "client-a", Lease: a[0].Lease, Attempt: 1, StatusCode: 200,
		AttemptedAt: t0.Add(61 * time.Second), Outcome: linkvault.WebhookDelivered}
	requireStatus(t, "RecordWebhookAttempt under an expired claim", s.RecordWebhookAttempt(ctx, late), linkvault.StatusConflict)
	late.Lease = b[0].Lease
	if err := s.RecordWebhookAttempt(ctx, late); err != nil {
		t.Fatalf("RecordWebhookAttempt under the live claim: %v", err)
	}
	if log, err := s.ListWebhookDeliveries(ctx, "client-a", 10); err != nil || len(log) != 1 {
		t.Fatalf("delivery log = %+v, %v; want exactly the one recorded attempt", log, err)
	}
}

// testWebhookSecrets: versions must follow each other; adding one retires the others
// at the given time (never later than they already expire).
func testWebhookSecrets(t *testing.T, s Store) {
	ctx := t.Context()
	sec := func(v int, at time.Time) linkvault.SealedWebhookSecret {
		return linkvault.SealedWebhookSecret{ClientID: "client-a", Version: v, Sealed: randomBytes(t, 48), KeyVersion: 1, CreatedAt: at}
	}
	v1 := sec(1, t0)
	if err := s.AddWebhookSecret(ctx, v1, t0); err != nil {
		t.Fatalf("AddWebhookSecret v1: %v", err)
	}
	requireStatus(t, "AddWebhookSecret v1 again", s.AddWebhookSecret(ctx, sec(1, t0), t0), linkvault.StatusConflict)
	requireStatus(t, "AddWebhookSecret skipping v2", s.AddWebhookSecret(ctx, sec(3, t0), t0), linkvault.StatusConflict)

	v2 := sec(2, t0.Add(time.Hour))
	if err := s.AddWebhookSecret(ctx, v2, t0.Add(25*time.Hour)); err != nil {
		t.Fatalf("AddWebhookSecret v2: %v", err)
	}
	v3 := sec(3, t0.Add(2*time.Hour))
	if err := s.AddWebhookSecret(ctx, v3, t0.Add(26*time.Hour)); err != nil {
		t.Fatalf("AddWebhookSecret v3: %v", err)
	}
	if err := s.AddWebhookSecret(ctx, linkvault.SealedWebhookSecret{ClientID: "client-b", Version: 1, Sealed: []byte("x"), KeyVersion: 1, CreatedAt: t0}, t0); err != nil {
		t.Fatalf("AddWebhookSecret for another client: %v", err)
	}

	got, err := s.ListWebhookSecrets(ctx, "client-a")
	if err != nil {
		t.Fatalf("ListWebhookSecrets: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ListWebhookSecrets = %d secrets, want 3", len(got))
	}
	wants := []struct {
		s       linkvault.SealedWebhookSecret
		expires time.Time
	}{
		{v3, time.Time{}},
		{v2, t0.Add(26 * time.Hour)},
		{v1, t0.Add(25 * time.Hour)}, // retired by v2; v3's later retirement does not extend it
	}
	for i, w := range wants {
		g := got[i]
		if g.ClientID != "client-a" || g.Version != w.s.Version || string(g.Sealed) != string(w.s.Sealed) || g.KeyVersion != 1 {
			t.Errorf("secret %d = v%d (%d bytes), want v%d", i, g.Version, len(g.Sealed), w.s.Version)
		}
		checkTime(t, fmt.Sprintf("v%d CreatedAt", g.Version), w.s.CreatedAt, g.CreatedAt)
		checkTime(t, fmt.Sprintf("v%d ExpiresAt", g.Version), w.expires, g.ExpiresAt)
	}
	if !got[0].Active(t0.Add(100*time.Hour)) || !got[1].Active(t0.Add(26*time.Hour-time.Microsecond)) || got[1].Active(t0.Add(26*time.Hour)) {
		t.Errorf("Active: current secret must stay active, retired ones until their expiry")
	}
	if none, err := s.ListWebhookSecrets(ctx, "client-c"); err != nil || len(none) != 0 {
		t.Fatalf("ListWebhookSecrets of a client without secrets = %v, %v", none, err)
	}
}

// testWebhookPrune: pruning deletes finished events (delivered, failed, skipped)
// created before the cut-off, with their delivery log, and never an event still
// awaiting delivery or one created after the cut-off.
func testWebhookPrune(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0
	mustCreateClient(t, s, "client-p")
	if err := s.SetClientWebhookURL(ctx, "client-p", "https://app.example/hooks"); err != nil {
		t.Fatal(err)
	}
	outboxEvent(t, s, "client-p", "u1", "old-delivered", now)
	outboxEvent(t, s, "client-p", "u2", "old-failed", now.Add(time.Second))
	outboxEvent(t, s, "client-p", "u3", "old-retrying", now.Add(2*time.Second))
	outboxEvent(t, s, "client-p", "u4", "new-delivered", now.Add(time.Hour))
	claimed, err := s.ClaimWebhookEvents(ctx, now.Add(2*time.Hour), "w", now.Add(3*time.Hour), 10)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claim = %v, %v; want 4 events", pendingIDs(claimed), err)
	}
	outcome := map[string]linkvault.WebhookOutcome{"old-delivered": linkvault.WebhookDelivered, "old-failed": linkvault.WebhookFailed,
		"old-retrying": linkvault.WebhookRetry, "new-delivered": linkvault.WebhookDelivered}
	for _, c := range claimed {
		r := linkvault.WebhookAttempt{EventID: c.Event.ID, ClientID: c.Event.ClientID, Lease: c.Lease, Attempt: 1,
			StatusCode: 200, AttemptedAt: now.Add(2 * time.Hour), Outcome: outcome[c.Event.ID]}
		if r.Outcome == linkvault.WebhookRetry {
			r.StatusCode, r.ErrorCode, r.NextAttemptAt = 503, "http_503", now.Add(4*time.Hour)
		}
		if err := s.RecordWebhookAttempt(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	// A batch of one takes the oldest finished event; the next batch the other one.
	if n, err := s.PruneWebhookEvents(ctx, now.Add(30*time.Minute), 1); err != nil || n != 1 {
		t.Fatalf("PruneWebhookEvents(limit 1) = %d, %v; want 1", n, err)
	}
	if log, err := s.ListWebhookDeliveries(ctx, "client-p", 100); err != nil || len(log) != 3 || slices.ContainsFunc(log, func(d linkvault.WebhookDelivery) bool { return d.EventID == "old-delivered" }) {
		t.Fatalf("delivery log after the first batch = %v, %v; want old-delivered's attempt gone, 3 left", log, err)
	}
	n, err := s.PruneWebhookEvents(ctx, now.Add(30*time.Minute), 10)
	if err != nil || n != 1 {
		t.Fatalf("PruneWebhookEvents = %d, %v; want the last finished event older than the cut-off", n, err)
	}
	log, err := s.ListWebhookDeliveries(ctx, "client-p", 100)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, d := range log {
		left[d.EventID] = true
	}
	if left["old-delivered"] || left["old-failed"] || !left["old-retrying"] || !left["new-delivered"] {
		t.Fatalf("delivery log after pruning holds %v; want only old-retrying and new-delivered", left)
	}
	if n, err := s.CountPendingWebhookEvents(ctx); err != nil || n != 1 {
		t.Fatalf("pending after pruning = %d, %v; want the retrying event kept", n, err)
	}
	if n, err := s.PruneWebhookEvents(ctx, now.Add(30*time.Minute), 10); err != nil || n != 0 {
		t.Fatalf("second prune = %d, %v; want 0", n, err)
	}
}

// testAuditPruneBatches: audit pruning deletes the oldest entries first, at most limit
// per call, never one created at or after the cut-off; prunes running at once (one per
// replica) delete each entry once between them and fail none.
func testAuditPruneBatches(t *testing.T, s Store) {
	ctx := t.Context()
	var entries []linkvault.AuditEntry
	for i := range 16 {
		entries = append(entries, linkvault.AuditEntry{ClientID: "client-r", KeyID: "k", Action: "token.get",
			Outcome: "ok", HTTPStatus: 200, CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
	}
	if err := s.AppendAudit(ctx, entries); err != nil {
		t.Fatal(err)
	}
	left := func() []time.Time {
		t.Helper()
		got, err := s.ListAudit(ctx, linkvault.AuditQuery{ClientID: "client-r", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var at []time.Time
		for _, e := range got {
			at = append(at, e.CreatedAt)
		}
		slices.SortFunc(at, time.Time.Compare)
		return at
	}
	cut := t0.Add(3 * time.Minute)
	for _, step := range []struct{ limit, want int64 }{{2, 2}, {2, 1}, {2, 0}} {
		if n, err := s.PruneAudit(ctx, cut, int(step.limit)); err != nil || n != step.want {
			t.Fatalf("PruneAudit(limit %d) = %d, %v; want %d", step.limit, n, err, step.want)
		}
	}
	if at := left(); len(at) != 13 || !sameInstant(at[0], cut) {
		t.Fatalf("after pruning before %v: %d entries left, oldest %v; want 13, the oldest at the cut-off", cut, len(at), at)
	}

	// Four concurrent pruners, batches of 2, entries 3..11 minutes old at the cut-off.
	cut = t0.Add(12 * time.Minute)
	total, errs := pruneConcurrently(func() (int64, error) { return s.PruneAudit(ctx, cut, 2) })
	if len(errs) > 0 || total != 9 {
		t.Fatalf("concurrent prunes deleted %d entries with errors %v; want 9, none", total, errs)
	}
	if at := left(); len(at) != 4 || !sameInstant(at[0], cut) {
		t.Fatalf("%d entries left, oldest %v; want the 4 from the cut-off %v on", len(at), at, cut)
	}
}

// testWebhookPruneConcurrent: prunes running at once delete every old finished event
// once between them and fail none.
func testWebhookPruneConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	mustCreateClient(t, s, "client-q")
	if err := s.SetClientWebhookURL(ctx, "client-q", "https://app.example/hooks"); err != nil {
		t.Fatal(err)
	}
	const events = 30
	for i := range events {
		outboxEvent(t, s, "client-q", fmt.Sprintf("u%d", i), fmt.Sprintf("evt-q-%02d", i), t0.Add(time.Duration(i)*time.Second))
	}
	claimed, err := s.ClaimWebhookEvents(ctx, t0.Add(time.Hour), "w", t0.Add(2*time.Hour), events)
	if err != nil || len(claimed) != events {
		t.Fatalf("claim = %d events, %v; want %d", len(claimed), err, events)
	}
	for _, c := range claimed {
		if err := s.RecordWebhookAttempt(ctx, linkvault.WebhookAttempt{EventID: c.Event.ID, ClientID: c.Event.ClientID, Lease: c.Lease,
			Attempt: 1, StatusCode: 200, AttemptedAt: t0.Add(time.Hour), Outcome: linkvault.WebhookDelivered}); err != nil {
			t.Fatal(err)
		}
	}
	total, errs := pruneConcurrently(func() (int64, error) { return s.PruneWebhookEvents(ctx, t0.Add(time.Hour), 3) })
	if len(errs) > 0 || total != events {
		t.Fatalf("concurrent prunes deleted %d events with errors %v; want %d, none", total, errs, events)
	}
	if log, err := s.ListWebhookDeliveries(ctx, "client-q", 100); err != nil || len(log) != 0 {
		t.Fatalf("delivery log after pruning = %d rows, %v; want none", len(log), err)
	}
}

// pruneConcurrently runs prune from four goroutines at once, each until a call deletes
// nothing or fails, and returns the rows deleted between them and the errors.
func pruneConcurrently(prune func() (int64, error)) (total int64, errs []error) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for range 4 {
		wg.Go(func() {
			for {
				n, err := prune()
				mu.Lock()
				total += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
				if err != nil || n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	return total, errs
}
