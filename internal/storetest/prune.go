package storetest

import (
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

	n, err := s.PruneWebhookEvents(ctx, now.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneWebhookEvents = %d, %v; want the 2 finished events older than the cut-off", n, err)
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
	if n, err := s.PruneWebhookEvents(ctx, now.Add(30*time.Minute)); err != nil || n != 0 {
		t.Fatalf("second prune = %d, %v; want 0", n, err)
	}
}
