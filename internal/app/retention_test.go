package app

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/metricstest"
	"github.com/linkvault/linkvault/internal/testdb"
)

// TestRetentionPrunesInTheBackground starts a server (SQLite, and PostgreSQL when
// configured) over a store holding audit entries and webhook events on both sides of
// their retention, and waits for its background loop to delete the old ones, in several
// batches, with no request made: every audit entry younger than the retention stays (one
// a minute younger than the cut-off included), and so does every webhook event still
// awaiting delivery, however old. linkvault_retention_pruned_rows_total counts the rows.
func TestRetentionPrunesInTheBackground(t *testing.T) {
	stores := map[string]func(t *testing.T) Store{
		"sqlite":   func(t *testing.T) Store { return testdb.SQLite(t) },
		"postgres": func(t *testing.T) Store { return testdb.Postgres(t) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRetention(t, open(t))
		})
	}
}

func testRetention(t *testing.T, st Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	const (
		batch     = 10
		oldAudit  = 25 // > 2 batches
		oldEvents = 12
		day       = 24 * time.Hour
	)
	keepAudit, keepEvents := 365*day, 30*day

	// Audit: 25 entries older than a year, 3 younger (one by a minute only).
	var entries []linkvault.AuditEntry
	for i := range oldAudit {
		entries = append(entries, auditAt(now.Add(-keepAudit-time.Duration(i+1)*time.Hour)))
	}
	young := []time.Time{now.Add(-keepAudit + time.Minute), now.Add(-200 * day), now.Add(-time.Hour)}
	for _, at := range young {
		entries = append(entries, auditAt(at))
	}
	if err := st.AppendAudit(ctx, entries); err != nil {
		t.Fatal(err)
	}

	// Webhook events: 12 delivered 40 days ago, 1 delivered yesterday, 1 from 40 days
	// ago still being retried.
	if err := st.CreateClient(ctx, &linkvault.Client{ID: "shop", Name: "Shop", CreatedAt: now.Add(-100 * day)}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetClientWebhookURL(ctx, "shop", "https://app.example/hooks"); err != nil {
		t.Fatal(err)
	}
	at := map[string]time.Time{"young-delivered": now.Add(-day), "old-retrying": now.Add(-keepEvents - 10*day)}
	for i := range oldEvents {
		at[fmt.Sprintf("old-delivered-%02d", i)] = now.Add(-keepEvents - 10*day + time.Duration(i)*time.Minute)
	}
	i := 0
	for id, created := range at {
		i++
		c := &linkvault.Connection{TokenID: linkvault.NewTokenID(), ConnectionIdentity: linkvault.ConnectionIdentity{
			ClientID: "shop", UserID: fmt.Sprintf("user-%d", i), BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead,
		}, Status: linkvault.StatusActive, SealedCredential: []byte("sealed"), CreatedAt: created}
		ev := linkvault.Event{ID: id, ClientID: "shop", Type: linkvault.EventConnectionCreated, TokenID: c.TokenID,
			Data: json.RawMessage(`{}`), CreatedAt: created}
		if err := st.CreateConnection(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := st.ClaimWebhookEvents(ctx, now, "test", now.Add(time.Minute), 100)
	if err != nil || len(claimed) != len(at) {
		t.Fatalf("claimed %d events, %v; want %d", len(claimed), err, len(at))
	}
	for _, c := range claimed {
		a := linkvault.WebhookAttempt{EventID: c.Event.ID, ClientID: "shop", Lease: c.Lease, Attempt: 1,
			StatusCode: 200, AttemptedAt: now, Outcome: linkvault.WebhookDelivered}
		if c.Event.ID == "old-retrying" {
			a.StatusCode, a.ErrorCode, a.Outcome, a.NextAttemptAt = 503, "http_503", linkvault.WebhookRetry, now.Add(time.Hour)
		}
		if err := st.RecordWebhookAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	cfg := config.Default()
	cfg.ListenAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Database.SQLitePath = filepath.Join(t.TempDir(), "unused.db")
	cfg.Refresh.Enabled = false
	cfg.Retention = config.Retention{WebhookEvents: keepEvents, Audit: keepAudit, Interval: time.Second, BatchSize: batch}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, &cfg, Options{Store: st, MasterKeyring: envelopetest.MasterKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}

	pruned := func(table string) float64 {
		return counter(t, a.Metrics, "linkvault_retention_pruned_rows_total", table)
	}
	deadline := time.Now().Add(30 * time.Second)
	for pruned("audit_log") < oldAudit || pruned("webhook_events") < oldEvents {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the retention loop pruned %v audit entries and %v webhook events; want %d and %d",
				pruned("audit_log"), pruned("webhook_events"), oldAudit, oldEvents)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Another pass finds nothing more.
	time.Sleep(1500 * time.Millisecond)
	if a, e := pruned("audit_log"), pruned("webhook_events"); a != oldAudit || e != oldEvents {
		t.Errorf("pruned %v audit entries and %v events; want exactly %d and %d", a, e, oldAudit, oldEvents)
	}

	left, err := st.ListAudit(ctx, linkvault.AuditQuery{ClientID: "shop", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for _, e := range left {
		got = append(got, e.CreatedAt.UTC())
	}
	slices.SortFunc(got, time.Time.Compare)
	if !slices.EqualFunc(got, young, time.Time.Equal) {
		t.Errorf("audit entries left at %v; want the younger ones %v", got, young)
	}
	log, err := st.ListWebhookDeliveries(ctx, "shop", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range log {
		ids = append(ids, d.EventID)
	}
	slices.Sort(ids)
	if want := []string{"old-retrying", "young-delivered"}; !slices.Equal(ids, want) {
		t.Errorf("delivery log holds %v; want %v", ids, want)
	}
	if n, err := st.CountPendingWebhookEvents(ctx); err != nil || n != 1 {
		t.Errorf("pending events = %d, %v; want the retrying one", n, err)
	}
}

func auditAt(at time.Time) linkvault.AuditEntry {
	return linkvault.AuditEntry{ClientID: "shop", KeyID: "k", Action: "token.get", Outcome: "ok", HTTPStatus: 200, CreatedAt: at}
}

// counter reads the counter name's series with the label table from g.
func counter(t *testing.T, g prometheus.Gatherer, name, table string) float64 {
	t.Helper()
	return metricstest.Counter(t, g, name, map[string]string{"table": table})
}
