package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
)

var _ audit.Store = (*DB)(nil)

// AppendAudit writes entries in one transaction and sets their IDs. A zero CreatedAt is
// set to now.
func (db *DB) AppendAudit(ctx context.Context, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_log
				(client_id, key_id, token_id, token_ref, broker_type, action, outcome, http_status, duration_us, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: append audit: %w", err)
		}
		defer stmt.Close()
		for i := range entries {
			e := &entries[i]
			if e.CreatedAt.IsZero() {
				e.CreatedAt = db.now()
			}
			res, err := stmt.ExecContext(ctx, e.ClientID, e.KeyID, e.TokenID, e.TokenRef, string(e.BrokerType),
				e.Action, e.Outcome, e.HTTPStatus, e.Duration.Microseconds(), timeToDB(e.CreatedAt))
			if err != nil {
				return fmt.Errorf("sqlite: append audit: %w", err)
			}
			if e.ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("sqlite: append audit: %w", err)
			}
		}
		return nil
	})
}

// ListAudit returns the entries q selects, newest first.
func (db *DB) ListAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error) {
	q, err := q.Normalize()
	if err != nil {
		return nil, err
	}
	where := []string{"client_id = ?"}
	args := []any{q.ClientID}
	if q.TokenID != "" {
		where = append(where, "token_ref = ?")
		args = append(args, audit.Fingerprint(q.TokenID))
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
	var out []audit.Entry
	for rows.Next() {
		var (
			e                audit.Entry
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
