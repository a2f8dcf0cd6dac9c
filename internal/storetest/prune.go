package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

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
