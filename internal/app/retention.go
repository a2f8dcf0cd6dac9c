package app

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/poller"
)

// Retention: finished webhook events and old audit entries are deleted by a background
// loop on every replica (config.Retention), never inside a request. Each pass deletes in
// batches (one bounded statement or transaction each, so no delete holds the SQLite
// writer or PostgreSQL row locks for long), one after the other while full batches come
// back, at most maxPruneBatches per table and pass; a larger backlog is worked off over
// the following passes. Concurrent passes of several replicas delete disjoint rows (the
// store's prune methods skip rows another transaction holds), so nothing needs electing.

// PruneFunc deletes up to limit rows created before before, oldest first, and returns
// how many it deleted (the stores' PruneWebhookEvents and PruneAudit).
type PruneFunc func(ctx context.Context, before time.Time, limit int) (int64, error)

// pruneBatch is the batch of PruneAll (the `webhooks prune` and `audit
// --prune-older-than` commands).
const pruneBatch = 1000

// maxPruneBatches bounds one retention pass per table.
const maxPruneBatches = 100

// PruneAll deletes every row prune selects before before, in batches, and returns how
// many it deleted.
func PruneAll(ctx context.Context, prune PruneFunc, before time.Time) (int64, error) {
	n, _, err := pruneBatches(ctx, prune, before, pruneBatch, 0)
	return n, err
}

// pruneBatches calls prune with batch until a batch comes back short, maxBatches
// batches were deleted (0: no bound) or an error. It reports how many rows were deleted
// and whether the bound stopped it with rows possibly left.
func pruneBatches(ctx context.Context, prune PruneFunc, before time.Time, batch, maxBatches int) (deleted int64, bounded bool, err error) {
	for i := 0; maxBatches == 0 || i < maxBatches; i++ {
		n, err := prune(ctx, before, batch)
		deleted += n
		if err != nil || n < int64(batch) {
			return deleted, false, err
		}
	}
	return deleted, true, nil
}

// retentionTask is one table the retention loop prunes.
type retentionTask struct {
	table string        // metric label and log field
	keep  time.Duration // rows older than this go; 0: kept forever
	prune PruneFunc
}

// retention is the background pruning loop of one process.
type retention struct {
	tasks    []retentionTask
	interval time.Duration
	batch    int
	now      func() time.Time
	log      *slog.Logger
	pruned   *prometheus.CounterVec // rows deleted, by table
	passes   *prometheus.CounterVec // passes, by table and outcome
}

// newRetention returns the loop cfg configures over st, its metrics registered on reg
// (nil: unregistered).
func newRetention(cfg config.Retention, st Store, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*retention, error) {
	m := poller.Metrics("retention")
	r := &retention{
		tasks: []retentionTask{
			{table: "webhook_events", keep: cfg.WebhookEvents, prune: st.PruneWebhookEvents},
			{table: "audit_log", keep: cfg.Audit, prune: st.PruneAudit},
		},
		interval: cfg.Interval, batch: cfg.BatchSize, now: now, log: log,
		pruned: m.CounterVec("pruned_rows_total", "Rows deleted by the retention loop, by table (webhook_events: finished events, with their delivery log; audit_log).", "table"),
		passes: m.CounterVec("passes_total", "Retention passes, by table and outcome (ok, error, bounded: stopped at the per-pass bound with rows left).", "table", "outcome"),
	}
	if err := poller.Register(reg, "retention", r.pruned, r.passes); err != nil {
		return nil, err
	}
	for _, t := range r.tasks { // every series exists from start-up, at zero
		r.pruned.WithLabelValues(t.table)
		for _, outcome := range []string{"ok", "error", "bounded"} {
			r.passes.WithLabelValues(t.table, outcome)
		}
	}
	return r, nil
}

// run makes a pass every interval (the first after a random part of one, so replicas
// started together spread their passes) until ctx ends.
func (r *retention) run(ctx context.Context) {
	wait := time.Duration(rand.Float64() * float64(r.interval))
	for {
		if poller.Sleep(ctx, wait) != nil {
			return
		}
		r.pass(ctx)
		wait = r.interval
	}
}

// pass prunes every table with a retention once, bounded by maxPruneBatches each.
func (r *retention) pass(ctx context.Context) {
	now := r.now()
	for _, t := range r.tasks {
		if t.keep <= 0 {
			continue
		}
		before := now.Add(-t.keep)
		n, bounded, err := pruneBatches(ctx, t.prune, before, r.batch, maxPruneBatches)
		r.pruned.WithLabelValues(t.table).Add(float64(n))
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			r.passes.WithLabelValues(t.table, "error").Inc()
			r.log.WarnContext(ctx, "retention pass failed", "table", t.table, "deleted", n, "error", err)
		case bounded:
			r.passes.WithLabelValues(t.table, "bounded").Inc()
			r.log.InfoContext(ctx, "retention pass stopped at its bound; the rest goes in the next passes", "table", t.table, "deleted", n)
		default:
			r.passes.WithLabelValues(t.table, "ok").Inc()
			if n > 0 {
				r.log.DebugContext(ctx, "retention pass", "table", t.table, "deleted", n)
			}
		}
	}
}
