// Package audit keeps the record of what API callers did with tokenIds: an append-only
// log of every use of a tokenId (who, what, when, outcome; never a secret), written
// asynchronously in batches so the hot read path only enqueues, and the idempotency
// records that let a managed transfer execute at most once per client transaction id.
//
// The types here are shared by the HTTP handlers that produce the records, the stores
// (internal/sqlite, internal/postgres) that keep them, and the CLI that reads them.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// Entry is one use of a tokenId.
//
// A tokenId that resolved to one of the caller's own connections is recorded in
// TokenID. A tokenId that did not (never issued, removed, or another client's) is
// recorded only by its TokenRef fingerprint: the probed value is not stored, so the log
// of one client never holds another client's tokenIds, while an operator can still
// find every probe of a given value (the CLI fingerprints the --token it is given).
type Entry struct {
	ID         int64 // assigned by the store, increasing
	ClientID   string
	KeyID      string // the API key that made the call
	TokenID    string // empty unless the tokenId is the client's
	TokenRef   string // Fingerprint of the presented tokenId; always set
	BrokerType linkvault.BrokerType
	Action     string // one of the Action* constants
	Outcome    string // OutcomeOK or a linkvault.ErrType* code
	HTTPStatus int
	CreatedAt  time.Time
	Duration   time.Duration
}

// Fingerprint is the reference under which a presented tokenId is logged: the first 16
// hex characters of its SHA-256. A tokenId carries 192 random bits, so the fingerprint
// identifies it without revealing it.
func Fingerprint(tokenID string) string {
	sum := sha256.Sum256([]byte(tokenID))
	return hex.EncodeToString(sum[:8])
}

// Query selects log entries of one client, newest first.
type Query struct {
	ClientID string    // required
	TokenID  string    // optional: only uses of this presented tokenId (matched by fingerprint)
	Since    time.Time // optional: only entries at or after this time
	Limit    int       // default DefaultLimit, at most MaxLimit
}

// Limits of Query.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Normalize validates q and applies the default limit.
func (q Query) Normalize() (Query, error) {
	if err := linkvault.ValidateClientID(q.ClientID); err != nil {
		return q, err
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit < 0 || q.Limit > MaxLimit:
		return q, linkvault.ErrInvalid("limit must be between 1 and %d.", MaxLimit)
	}
	return q, nil
}

// Store keeps the log. Implemented by internal/sqlite and internal/postgres.
type Store interface {
	// AppendAudit writes entries in one transaction, assigning their IDs.
	AppendAudit(ctx context.Context, entries []Entry) error
	// ListAudit returns the entries q selects, newest first (by time, then ID).
	ListAudit(ctx context.Context, q Query) ([]Entry, error)
	// PruneAudit deletes the entries of every client created before before, and
	// returns how many (retention; the log is otherwise append-only).
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}
