package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
)

// AppendAudit writes entries in one transaction (one pipelined round trip) and sets
// their IDs. A zero CreatedAt is set to now.
func (db *DB) AppendAudit(ctx context.Context, entries []linkvault.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.withTx(ctx, func(tx pgx.Tx) error {
		var b pgx.Batch
		for i := range entries {
			e := &entries[i]
			if e.CreatedAt.IsZero() {
				e.CreatedAt = db.now()
			}
			b.Queue(`INSERT INTO audit_log
					(client_id, key_id, token_id, token_ref, broker_type, action, outcome, http_status, duration_us, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
				e.ClientID, e.KeyID, e.TokenID, e.TokenRef, string(e.BrokerType),
				e.Action, e.Outcome, e.HTTPStatus, e.Duration.Microseconds(), e.CreatedAt,
			).QueryRow(func(row pgx.Row) error { return row.Scan(&e.ID) })
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("postgres: append audit: %w", err)
		}
		return nil
	})
}

// ListAudit returns the entries q selects, newest first.
func (db *DB) ListAudit(ctx context.Context, q linkvault.AuditQuery) ([]linkvault.AuditEntry, error) {
	q, err := q.Normalize()
	if err != nil {
		return nil, err
	}
	where := []string{"client_id = $1"}
	args := []any{q.ClientID}
	if q.TokenID != "" {
		args = append(args, linkvault.TokenFingerprint(q.TokenID))
		where = append(where, "token_ref = $"+strconv.Itoa(len(args)))
	}
	if !q.Since.IsZero() {
		args = append(args, q.Since)
		where = append(where, "created_at >= $"+strconv.Itoa(len(args)))
	}
	args = append(args, q.Limit)
	rows, err := db.pool.Query(ctx, `SELECT id, client_id, key_id, token_id, token_ref, broker_type,
			action, outcome, http_status, duration_us, created_at
		FROM audit_log WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (linkvault.AuditEntry, error) {
		var (
			e          linkvault.AuditEntry
			broker     string
			durationUS int64
			when       time.Time
		)
		err := r.Scan(&e.ID, &e.ClientID, &e.KeyID, &e.TokenID, &e.TokenRef, &broker,
			&e.Action, &e.Outcome, &e.HTTPStatus, &durationUS, &when)
		e.BrokerType = linkvault.BrokerType(broker)
		e.Duration = time.Duration(durationUS) * time.Microsecond
		e.CreatedAt = timeFromDB(when)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	return out, nil
}

// PruneAudit deletes the entries created before before.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM audit_log WHERE created_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	return tag.RowsAffected(), nil
}
