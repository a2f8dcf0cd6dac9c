package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/linkvault/linkvault"
)

// insertEvents writes events into the webhook outbox inside tx, so they commit or roll
// back with the state change they describe. Empty fields default to: a random ID, the
// given client and tokenId, now for CreatedAt and {} for Data. The first delivery
// attempt is due at CreatedAt.
func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx, clientID, tokenID string, events []linkvault.Event) error {
	for _, e := range events {
		e = e.WithDefaults(clientID, tokenID, db.now())
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_events
				(id, client_id, type, token_id, data, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.ClientID, e.Type, e.TokenID, string(e.Data), timeToDB(e.CreatedAt), timeToDB(e.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: insert event %s: %w", e.Type, err)
		}
	}
	return nil
}

// PendingEvents returns the client's undelivered outbox events, oldest first.
func (db *DB) PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, client_id, type, token_id, data, created_at
		FROM webhook_events WHERE client_id = ? AND delivered_at IS NULL ORDER BY created_at, id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending events: %w", err)
	}
	defer rows.Close()
	var out []linkvault.Event
	for rows.Next() {
		var (
			e       linkvault.Event
			data    string
			created int64
		)
		if err := rows.Scan(&e.ID, &e.ClientID, &e.Type, &e.TokenID, &data, &created); err != nil {
			return nil, fmt.Errorf("sqlite: pending events: %w", err)
		}
		e.Data = json.RawMessage(data)
		e.CreatedAt = timeFromDB(created)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: pending events: %w", err)
	}
	return out, nil
}
