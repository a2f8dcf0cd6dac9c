package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
)

// insertEvents writes events into the webhook outbox inside tx, so they commit or roll
// back with the state change they describe. Empty fields default to: a random ID, the
// given client and tokenId, now for CreatedAt and {} for Data. The first delivery
// attempt is due at CreatedAt.
func (db *DB) insertEvents(ctx context.Context, tx pgx.Tx, clientID, tokenID string, events []linkvault.Event) error {
	for _, e := range events {
		e = e.WithDefaults(clientID, tokenID, db.now())
		_, err := tx.Exec(ctx, `INSERT INTO webhook_events
				(id, client_id, type, token_id, data, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`,
			e.ID, e.ClientID, e.Type, e.TokenID, string(e.Data), e.CreatedAt)
		if err != nil {
			return fmt.Errorf("postgres: insert event %s: %w", e.Type, err)
		}
	}
	return nil
}

// PendingEvents returns the client's undelivered outbox events, oldest first.
func (db *DB) PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, client_id, type, token_id, data, created_at
		FROM webhook_events WHERE client_id = $1 AND delivered_at IS NULL ORDER BY created_at, id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (linkvault.Event, error) {
		var (
			e       linkvault.Event
			data    string
			created time.Time
		)
		if err := r.Scan(&e.ID, &e.ClientID, &e.Type, &e.TokenID, &data, &created); err != nil {
			return e, err
		}
		e.Data = json.RawMessage(data)
		e.CreatedAt = timeFromDB(created)
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: pending events: %w", err)
	}
	return out, nil
}
