// Package audit keeps the record of what API callers did with tokenIds: an append-only
// log of every use of a tokenId (who, what, when, outcome; never a secret), written
// asynchronously in batches so the hot read path only enqueues, and the idempotency
// records that let a managed transfer execute at most once per client transaction id.
//
// The records themselves (linkvault.AuditEntry, linkvault.TransferRecord) live in the
// domain package, so the stores that keep them need not import this one.
package audit

import (
	"context"
	"time"

	"github.com/linkvault/linkvault"
)

// Actions recorded in the log.
const (
	ActionHoldings        = "holdings.get"
	ActionBalance         = "balance.get"
	ActionTransferPreview = "transfer.preview"
	ActionTransferExecute = "transfer.execute"
	ActionRemove          = "account.remove"
)

// OutcomeOK is the Outcome of a successful use; failures record their errorType.
const OutcomeOK = "ok"

// Store keeps the log. Implemented by internal/sqlite and internal/postgres.
type Store interface {
	// AppendAudit writes entries in one transaction, assigning their IDs.
	AppendAudit(ctx context.Context, entries []linkvault.AuditEntry) error
	// ListAudit returns the entries q selects, newest first (by time, then ID).
	ListAudit(ctx context.Context, q linkvault.AuditQuery) ([]linkvault.AuditEntry, error)
	// PruneAudit deletes up to limit entries of every client created before before,
	// oldest first, and returns how many (retention; the log is otherwise
	// append-only). Concurrent calls delete disjoint entries.
	PruneAudit(ctx context.Context, before time.Time, limit int) (int64, error)
}
