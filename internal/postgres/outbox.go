package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/linkvault/linkvault"
)

// The webhook side of the outbox: claiming due events for delivery, recording attempts
// in the delivery log, and the clients' signing secrets. Events themselves are written
// by the connection mutations (events.go).

// ClaimWebhookEvents leases up to limit due, undelivered events, oldest due first,
// together with their client's webhook URL. Events another replica is claiming at the
// same moment are skipped (FOR UPDATE SKIP LOCKED), so claims never overlap.
func (db *DB) ClaimWebhookEvents(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]linkvault.WebhookClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	lease := owner + "/" + linkvault.NewRandomID(9)
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT id FROM webhook_events
			WHERE next_attempt_at <= $1 AND (lease_owner = '' OR lease_expires_at <= $1)
			ORDER BY next_attempt_at, id
			LIMIT $4
			FOR UPDATE SKIP LOCKED
		)
		UPDATE webhook_events AS e SET lease_owner = $2, lease_expires_at = $3
		FROM due WHERE e.id = due.id
		RETURNING e.id, e.client_id, e.type, e.token_id, e.data::text, e.created_at, e.attempts,
			coalesce((SELECT c.webhook_url FROM clients c WHERE c.id = e.client_id), '')`,
		now, lease, nullTimeToDB(leaseUntil), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim webhook events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (linkvault.WebhookClaim, error) {
		var (
			p       linkvault.WebhookClaim
			data    string
			created time.Time
		)
		err := r.Scan(&p.Event.ID, &p.Event.ClientID, &p.Event.Type, &p.Event.TokenID, &data, &created, &p.Attempts, &p.URL)
		p.Event.Data = json.RawMessage(data)
		p.Event.CreatedAt = timeFromDB(created)
		p.Lease = lease
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim webhook events: %w", err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(out, func(a, b linkvault.WebhookClaim) int {
		if c := a.Event.CreatedAt.Compare(b.Event.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Event.ID, b.Event.ID)
	})
	return out, nil
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
		delivered, outcome = r.AttemptedAt, string(linkvault.WebhookDelivered)
	case linkvault.WebhookRetry:
		if r.NextAttemptAt.IsZero() {
			return fmt.Errorf("postgres: record webhook attempt: retry without a next attempt time")
		}
		next = r.NextAttemptAt
	case linkvault.WebhookFailed, linkvault.WebhookSkipped:
		outcome = string(r.Outcome)
	default:
		return fmt.Errorf("postgres: record webhook attempt: unknown outcome %q", r.Outcome)
	}
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_events SET
				attempts = $1, last_status_code = $2, last_error = $3, delivered_at = $4, next_attempt_at = $5,
				outcome = $6, lease_owner = '', lease_expires_at = NULL
			WHERE id = $7 AND lease_owner = $8`,
			r.Attempt, r.StatusCode, r.ErrorCode, delivered, next, outcome, r.EventID, r.Lease)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return linkvault.ErrConflict("Webhook event is no longer leased by this worker.")
		}
		_, err = tx.Exec(ctx, `INSERT INTO webhook_deliveries
				(event_id, attempt, client_id, status_code, error_code, duration_ms, attempted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.EventID, r.Attempt, r.ClientID, r.StatusCode, r.ErrorCode, r.Duration.Milliseconds(), r.AttemptedAt)
		return err
	})
	if linkvault.IsConflict(err) {
		return err
	}
	if err != nil {
		return fmt.Errorf("postgres: record webhook attempt: %w", err)
	}
	return nil
}

// CountPendingWebhookEvents returns how many events await a delivery attempt.
func (db *DB) CountPendingWebhookEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE next_attempt_at IS NOT NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count pending webhook events: %w", err)
	}
	return n, nil
}

// ListWebhookDeliveries returns the client's most recent delivery attempts, newest first.
func (db *DB) ListWebhookDeliveries(ctx context.Context, clientID string, limit int) ([]linkvault.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT d.event_id, coalesce(e.type, ''), d.attempt, d.status_code,
			d.error_code, d.duration_ms, d.attempted_at
		FROM webhook_deliveries d LEFT JOIN webhook_events e ON e.id = d.event_id
		WHERE d.client_id = $1
		ORDER BY d.attempted_at DESC, d.event_id, d.attempt DESC
		LIMIT $2`, clientID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list webhook deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (linkvault.WebhookDelivery, error) {
		var (
			d  linkvault.WebhookDelivery
			ms int64
			at time.Time
		)
		err := r.Scan(&d.EventID, &d.EventType, &d.Attempt, &d.StatusCode, &d.ErrorCode, &ms, &at)
		d.Duration = time.Duration(ms) * time.Millisecond
		d.AttemptedAt = timeFromDB(at)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list webhook deliveries: %w", err)
	}
	return out, nil
}

// AddWebhookSecret stores s as the client's next secret version and retires every
// other secret of the client at retireAt at the latest, in one transaction. Concurrent
// rotations of one client serialise on an advisory transaction lock; the loser gets a
// conflict.
func (db *DB) AddWebhookSecret(ctx context.Context, s linkvault.SealedWebhookSecret, retireAt time.Time) error {
	created := s.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('linkvault-webhook-secret/' || $1, 0))`, s.ClientID); err != nil {
			return err
		}
		var highest int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM webhook_secrets WHERE client_id = $1`,
			s.ClientID).Scan(&highest); err != nil {
			return err
		}
		if s.Version != highest+1 {
			return linkvault.ErrConflict("Webhook secret was rotated concurrently.")
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_secrets SET expires_at = $1
			WHERE client_id = $2 AND (expires_at IS NULL OR expires_at > $1)`, retireAt, s.ClientID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_secrets
				(client_id, version, sealed, key_version, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			s.ClientID, s.Version, s.Sealed, s.KeyVersion, created, nullTimeToDB(s.ExpiresAt))
		return err
	})
	if linkvault.IsConflict(err) {
		return err
	}
	if isUniqueViolation(err) {
		return linkvault.ErrConflict("Webhook secret was rotated concurrently.")
	}
	if err != nil {
		return fmt.Errorf("postgres: add webhook secret: %w", err)
	}
	return nil
}

// ListWebhookSecrets returns the client's secrets, newest first.
func (db *DB) ListWebhookSecrets(ctx context.Context, clientID string) ([]linkvault.SealedWebhookSecret, error) {
	rows, err := db.pool.Query(ctx, `SELECT client_id, version, sealed, key_version, created_at, expires_at
		FROM webhook_secrets WHERE client_id = $1 ORDER BY version DESC`, clientID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list webhook secrets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (linkvault.SealedWebhookSecret, error) {
		var (
			s       linkvault.SealedWebhookSecret
			created time.Time
			expires pgtype.Timestamptz
		)
		err := r.Scan(&s.ClientID, &s.Version, &s.Sealed, &s.KeyVersion, &created, &expires)
		s.CreatedAt = timeFromDB(created)
		s.ExpiresAt = nullTimeFromDB(expires)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list webhook secrets: %w", err)
	}
	return out, nil
}

// PruneWebhookEvents deletes the finished events created before before, and their
// delivery log, in one transaction; events awaiting delivery stay.
func (db *DB) PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		const finished = `SELECT id FROM webhook_events WHERE outcome IN ('delivered', 'failed', 'skipped') AND created_at < $1`
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE event_id IN (`+finished+`)`, before); err != nil {
			return fmt.Errorf("postgres: prune webhook deliveries: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_events WHERE id IN (`+finished+`)`, before)
		if err != nil {
			return fmt.Errorf("postgres: prune webhook events: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}
