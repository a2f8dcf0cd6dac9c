package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// auditRowsPerInsert bounds the rows of one multi-row INSERT (11 parameters each, far
// below SQLite's parameter limit). One statement per chunk instead of per row keeps the
// background writer's cost per entry small.
const auditRowsPerInsert = 64

// AppendAudit writes entries in one transaction and sets their IDs. A zero CreatedAt is
// set to now.
func (db *DB) AppendAudit(ctx context.Context, entries []linkvault.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(entries); start += auditRowsPerInsert {
			chunk := entries[start:min(start+auditRowsPerInsert, len(entries))]
			var q strings.Builder
			q.WriteString(`INSERT INTO audit_log
				(client_id, key_id, token_id, token_ref, broker_type, action, outcome, http_status, duration_us, created_at)
				VALUES `)
			args := make([]any, 0, 10*len(chunk))
			for i := range chunk {
				e := &chunk[i]
				if e.CreatedAt.IsZero() {
					e.CreatedAt = db.now()
				}
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, e.ClientID, e.KeyID, e.TokenID, e.TokenRef, string(e.BrokerType),
					e.Action, e.Outcome, e.HTTPStatus, e.Duration.Microseconds(), timeToDB(e.CreatedAt))
			}
			res, err := tx.ExecContext(ctx, q.String(), args...)
			if err != nil {
				return fmt.Errorf("sqlite: append audit: %w", err)
			}
			last, err := res.LastInsertId()
			if err != nil {
				return fmt.Errorf("sqlite: append audit: %w", err)
			}
			// One statement on the single writer connection: the rows got consecutive
			// ids ending at last.
			for i := range chunk {
				chunk[i].ID = last - int64(len(chunk)-1-i)
			}
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
	where := []string{"client_id = ?"}
	args := []any{q.ClientID}
	if q.TokenID != "" {
		where = append(where, "token_ref = ?")
		args = append(args, linkvault.TokenFingerprint(q.TokenID))
	}
	if !q.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, timeToDB(q.Since))
	}
	args = append(args, q.Limit)
	rows, err := db.reader.QueryContext(ctx, `SELECT id, client_id, key_id, token_id, token_ref, broker_type,
			action, outcome, http_status, duration_us, created_at
		FROM audit_log WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", err)
	}
	defer rows.Close()
	var out []linkvault.AuditEntry
	for rows.Next() {
		var (
			e                linkvault.AuditEntry
			broker           string
			durationUS, when int64
		)
		if err := rows.Scan(&e.ID, &e.ClientID, &e.KeyID, &e.TokenID, &e.TokenRef, &broker,
			&e.Action, &e.Outcome, &e.HTTPStatus, &durationUS, &when); err != nil {
			return nil, fmt.Errorf("sqlite: list audit: %w", err)
		}
		e.BrokerType = linkvault.BrokerType(broker)
		e.Duration = time.Duration(durationUS) * time.Microsecond
		e.CreatedAt = timeFromDB(when)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", err)
	}
	return out, nil
}

// PruneAudit deletes the entries created before before.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE created_at < ?`, timeToDB(before))
		if err != nil {
			return fmt.Errorf("sqlite: prune audit: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
