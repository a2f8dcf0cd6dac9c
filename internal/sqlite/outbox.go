package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/linkvault/linkvault"
)

// The webhook side of the outbox: claiming due events for delivery, recording attempts
// in the delivery log, and the clients' signing secrets. Events themselves are written
// by the connection mutations (events.go).

// ClaimWebhookEvents leases up to limit due, undelivered events, oldest due first,
// together with their client's webhook URL. All writes go through the single writer
// connection, so two claims never overlap.
func (db *DB) ClaimWebhookEvents(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]linkvault.WebhookClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	lease := owner + "/" + linkvault.NewRandomID(9)
	var out []linkvault.WebhookClaim
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE webhook_events SET lease_owner = ?, lease_expires_at = ?
			WHERE id IN (
				SELECT id FROM webhook_events
				WHERE next_attempt_at <= ? AND (lease_owner = '' OR lease_expires_at <= ?)
				ORDER BY next_attempt_at, id
				LIMIT ?)
			RETURNING id, client_id, type, token_id, data, created_at, attempts,
				coalesce((SELECT webhook_url FROM clients WHERE clients.id = webhook_events.client_id), '')`,
			lease, nullTimeToDB(leaseUntil), timeToDB(now), timeToDB(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				p       linkvault.WebhookClaim
				data    string
				created int64
			)
			if err := rows.Scan(&p.Event.ID, &p.Event.ClientID, &p.Event.Type, &p.Event.TokenID, &data, &created,
				&p.Attempts, &p.URL); err != nil {
				return err
			}
			p.Event.Data = json.RawMessage(data)
			p.Event.CreatedAt = timeFromDB(created)
			p.Lease = lease
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim webhook events: %w", err)
	}
	sortPending(out)
	return out, nil
}

// sortPending orders claimed events oldest first (RETURNING has no defined order).
func sortPending(ps []linkvault.WebhookClaim) {
	slices.SortFunc(ps, func(a, b linkvault.WebhookClaim) int {
		if c := a.Event.CreatedAt.Compare(b.Event.CreatedAt); c != 0 {
			return c
		}
		return cmpString(a.Event.ID, b.Event.ID)
	})
}

// RecordWebhookAttempt appends the attempt to the delivery log and updates the event,
// if the event is still leased under r.Lease; conflict otherwise.
func (db *DB) RecordWebhookAttempt(ctx context.Context, r linkvault.WebhookAttempt) error {
	var (
		delivered, next any
		outcome         string
	)
	switch r.Outcome {
	case linkvault.WebhookDelivered:
		delivered, outcome = timeToDB(r.AttemptedAt), string(linkvault.WebhookDelivered)
	case linkvault.WebhookRetry:
		if r.NextAttemptAt.IsZero() {
			return fmt.Errorf("sqlite: record webhook attempt: retry without a next attempt time")
		}
		next = timeToDB(r.NextAttemptAt)
	case linkvault.WebhookFailed, linkvault.WebhookSkipped:
		outcome = string(r.Outcome)
	default:
		return fmt.Errorf("sqlite: record webhook attempt: unknown outcome %q", r.Outcome)
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_events SET
				attempts = ?, last_status_code = ?, last_error = ?, delivered_at = ?, next_attempt_at = ?,
				outcome = ?, lease_owner = '', lease_expires_at = NULL
			WHERE id = ? AND lease_owner = ?`,
			r.Attempt, r.StatusCode, r.ErrorCode, delivered, next, outcome, r.EventID, r.Lease)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return linkvault.ErrConflict("Webhook event is no longer leased by this worker.")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
				(event_id, attempt, client_id, status_code, error_code, duration_ms, attempted_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.EventID, r.Attempt, r.ClientID, r.StatusCode, r.ErrorCode, r.Duration.Milliseconds(), timeToDB(r.AttemptedAt))
		return err
	})
	if linkvault.IsConflict(err) {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlite: record webhook attempt: %w", err)
	}
	return nil
}

// CountPendingWebhookEvents returns how many events await a delivery attempt.
func (db *DB) CountPendingWebhookEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events WHERE next_attempt_at IS NOT NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count pending webhook events: %w", err)
	}
	return n, nil
}

// ListWebhookDeliveries returns the client's most recent delivery attempts, newest first.
func (db *DB) ListWebhookDeliveries(ctx context.Context, clientID string, limit int) ([]linkvault.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT d.event_id, coalesce(e.type, ''), d.attempt, d.status_code,
			d.error_code, d.duration_ms, d.attempted_at
		FROM webhook_deliveries d LEFT JOIN webhook_events e ON e.id = d.event_id
		WHERE d.client_id = ?
		ORDER BY d.attempted_at DESC, d.event_id, d.attempt DESC
		LIMIT ?`, clientID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []linkvault.WebhookDelivery
	for rows.Next() {
		var (
			d      linkvault.WebhookDelivery
			ms, at int64
		)
		if err := rows.Scan(&d.EventID, &d.EventType, &d.Attempt, &d.StatusCode, &d.ErrorCode, &ms, &at); err != nil {
			return nil, fmt.Errorf("sqlite: list webhook deliveries: %w", err)
		}
		d.Duration = time.Duration(ms) * time.Millisecond
		d.AttemptedAt = timeFromDB(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list webhook deliveries: %w", err)
	}
	return out, nil
}

// AddWebhookSecret stores s as the client's next secret version and retires every
// other secret of the client at retireAt at the latest, in one transaction.
func (db *DB) AddWebhookSecret(ctx context.Context, s linkvault.SealedWebhookSecret, retireAt time.Time) error {
	created := s.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var highest int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM webhook_secrets WHERE client_id = ?`,
			s.ClientID).Scan(&highest); err != nil {
			return err
		}
		if s.Version != highest+1 {
			return linkvault.ErrConflict("Webhook secret was rotated concurrently.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_secrets SET expires_at = ?
			WHERE client_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
			timeToDB(retireAt), s.ClientID, timeToDB(retireAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_secrets
				(client_id, version, sealed, key_version, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			s.ClientID, s.Version, s.Sealed, s.KeyVersion, timeToDB(created), nullTimeToDB(s.ExpiresAt))
		return err
	})
	if linkvault.IsConflict(err) {
		return err
	}
	if isUniqueViolation(err) {
		return linkvault.ErrConflict("Webhook secret was rotated concurrently.")
	}
	if err != nil {
		return fmt.Errorf("sqlite: add webhook secret: %w", err)
	}
	return nil
}

// ListWebhookSecrets returns the client's secrets, newest first.
func (db *DB) ListWebhookSecrets(ctx context.Context, clientID string) ([]linkvault.SealedWebhookSecret, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT client_id, version, sealed, key_version, created_at, expires_at
		FROM webhook_secrets WHERE client_id = ? ORDER BY version DESC`, clientID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list webhook secrets: %w", err)
	}
	defer rows.Close()
	var out []linkvault.SealedWebhookSecret
	for rows.Next() {
		var (
			s       linkvault.SealedWebhookSecret
			created int64
			expires sql.NullInt64
		)
		if err := rows.Scan(&s.ClientID, &s.Version, &s.Sealed, &s.KeyVersion, &created, &expires); err != nil {
			return nil, fmt.Errorf("sqlite: list webhook secrets: %w", err)
		}
		s.CreatedAt = timeFromDB(created)
		s.ExpiresAt = nullTimeFromDB(expires)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list webhook secrets: %w", err)
	}
	return out, nil
}

// PruneWebhookEvents deletes the finished events created before before, and their
// delivery log, in one transaction; events awaiting delivery stay.
func (db *DB) PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		const finished = `SELECT id FROM webhook_events WHERE outcome IN ('delivered', 'failed', 'skipped') AND created_at < ?`
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE event_id IN (`+finished+`)`, timeToDB(before)); err != nil {
			return fmt.Errorf("sqlite: prune webhook deliveries: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_events WHERE id IN (`+finished+`)`, timeToDB(before))
		if err != nil {
			return fmt.Errorf("sqlite: prune webhook events: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
