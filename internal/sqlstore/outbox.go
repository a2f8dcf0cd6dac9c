package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// The transactional outbox of webhook events: events are written by the connection
// mutations in their own transaction (insertEvents); the webhook dispatcher claims due
// events, records each delivery attempt in the delivery log, and signs with the
// clients' sealed secrets.

// insertEvents writes events into the outbox inside tx, so they commit or roll back
// with the state change they describe. Empty fields take linkvault.Event.WithDefaults;
// the first delivery attempt is due at CreatedAt.
func (s *Store) insertEvents(ctx context.Context, tx Querier, clientID, tokenID string, events []linkvault.Event) error {
	for _, e := range events {
		e = e.WithDefaults(clientID, tokenID, s.now())
		_, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, client_id, type, token_id, data, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`,
			e.ID, e.ClientID, e.Type, e.TokenID, string(e.Data), e.CreatedAt)
		if err != nil {
			return s.errorf("insert event "+e.Type, err)
		}
	}
	return nil
}

// PendingEvents returns the client's undelivered outbox events, oldest first.
func (s *Store) PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error) {
	out, err := queryAll(ctx, s.e.Read(), func(r Row) (linkvault.Event, error) {
		var (
			e    linkvault.Event
			data string
		)
		err := r.Scan(&e.ID, &e.ClientID, &e.Type, &e.TokenID, &data, s.t(&e.CreatedAt))
		e.Data = json.RawMessage(data)
		return e, err
	}, `SELECT id, client_id, type, token_id, data, created_at
		FROM webhook_events WHERE client_id = $1 AND delivered_at IS NULL ORDER BY created_at, id`, clientID)
	return out, s.wrap("pending events", err)
}

// ClaimWebhookEvents leases up to limit due, undelivered events, oldest first, together
// with their client's webhook URL, under a lease string unique to this claim. Concurrent
// claimers never share an event (see ClaimDueConnections).
func (s *Store) ClaimWebhookEvents(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]linkvault.WebhookClaim, error) {
	lease := owner + "/" + linkvault.NewRandomID(9)
	out, err := claimDue(ctx, s, "claim webhook events", dueClaim{
		table: "webhook_events", key: "id", due: "next_attempt_at", order: "next_attempt_at, id",
		returning: `id, client_id, type, token_id, data, created_at, attempts,
			coalesce((SELECT c.webhook_url FROM clients c WHERE c.id = webhook_events.client_id), '')`,
	}, now, lease, nullTime(leaseUntil), limit, func(r Row) (linkvault.WebhookClaim, error) {
		var (
			p    = linkvault.WebhookClaim{Lease: lease}
			data string
		)
		err := r.Scan(&p.Event.ID, &p.Event.ClientID, &p.Event.Type, &p.Event.TokenID, &data, s.t(&p.Event.CreatedAt), &p.Attempts, &p.URL)
		p.Event.Data = json.RawMessage(data)
		return p, err
	}, func(a, b linkvault.WebhookClaim) int {
		if c := a.Event.CreatedAt.Compare(b.Event.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Event.ID, b.Event.ID)
	})
	return out, err
}

// RecordWebhookAttempt appends the attempt to the delivery log and updates the event,
// if the event is still leased under r.Lease; conflict otherwise.
func (s *Store) RecordWebhookAttempt(ctx context.Context, r linkvault.WebhookAttempt) error {
	var (
		delivered, next any
		outcome         string
	)
	switch r.Outcome {
	case linkvault.WebhookDelivered:
		delivered, outcome = r.AttemptedAt, string(linkvault.WebhookDelivered)
	case linkvault.WebhookRetry:
		if r.NextAttemptAt.IsZero() {
			return s.errorf("record webhook attempt", errors.New("retry without a next attempt time"))
		}
		next = r.NextAttemptAt
	case linkvault.WebhookFailed, linkvault.WebhookSkipped:
		outcome = string(r.Outcome)
	default:
		return s.errorf("record webhook attempt", errors.New("unknown outcome "+string(r.Outcome)))
	}
	err := s.e.InTx(ctx, func(tx Querier) error {
		// A finished event keeps only its id, type, times and outcome: its payload
		// (tokenId, userId) has been delivered, or never will be.
		n, err := tx.Exec(ctx, `UPDATE webhook_events SET
				attempts = $1, last_status_code = $2, last_error = $3, delivered_at = $4, next_attempt_at = $5,
				outcome = $6, lease_owner = '', lease_expires_at = NULL,
				data = CASE WHEN $6 = '' THEN data ELSE '{}' END, token_id = CASE WHEN $6 = '' THEN token_id ELSE '' END
			WHERE id = $7 AND lease_owner = $8`,
			r.Attempt, r.StatusCode, r.ErrorCode, delivered, next, outcome, r.EventID, r.Lease)
		if err != nil {
			return err
		}
		if n == 0 {
			return linkvault.ErrConflict("Webhook event is no longer leased by this worker.")
		}
		_, err = tx.Exec(ctx, `INSERT INTO webhook_deliveries
				(event_id, attempt, client_id, status_code, error_code, duration_ms, attempted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.EventID, r.Attempt, r.ClientID, r.StatusCode, r.ErrorCode, r.Duration.Milliseconds(), r.AttemptedAt)
		return err
	})
	return s.wrap("record webhook attempt", err)
}

// CountPendingWebhookEvents returns how many events await a delivery attempt.
func (s *Store) CountPendingWebhookEvents(ctx context.Context) (int64, error) {
	var n int64
	err := s.e.Read().QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE next_attempt_at IS NOT NULL`).Scan(&n)
	return n, s.wrap("count pending webhook events", err)
}

// ListWebhookDeliveries returns the client's most recent delivery attempts, newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, clientID string, limit int) ([]linkvault.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := queryAll(ctx, s.e.Read(), func(r Row) (linkvault.WebhookDelivery, error) {
		var (
			d  linkvault.WebhookDelivery
			ms int64
		)
		err := r.Scan(&d.EventID, &d.EventType, &d.Attempt, &d.StatusCode, &d.ErrorCode, &ms, s.t(&d.AttemptedAt))
		d.Duration = time.Duration(ms) * time.Millisecond
		return d, err
	}, `SELECT d.event_id, coalesce(e.type, ''), d.attempt, d.status_code, d.error_code, d.duration_ms, d.attempted_at
		FROM webhook_deliveries d LEFT JOIN webhook_events e ON e.id = d.event_id
		WHERE d.client_id = $1
		ORDER BY d.attempted_at DESC, d.event_id, d.attempt DESC
		LIMIT $2`, clientID, limit)
	return out, s.wrap("list webhook deliveries", err)
}

// AddWebhookSecret stores sec as the client's next secret version and retires every
// other secret of the client at retireAt at the latest, in one transaction. Concurrent
// rotations of one client serialise on the engine's lock; the loser gets a conflict.
func (s *Store) AddWebhookSecret(ctx context.Context, sec linkvault.SealedWebhookSecret, retireAt time.Time) error {
	created := sec.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err := s.e.InTx(ctx, func(tx Querier) error {
		if err := s.e.Lock(ctx, tx, "linkvault-webhook-secret/"+sec.ClientID); err != nil {
			return err
		}
		var highest int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM webhook_secrets WHERE client_id = $1`,
			sec.ClientID).Scan(&highest); err != nil {
			return err
		}
		if sec.Version != highest+1 {
			return linkvault.ErrConflict("Webhook secret was rotated concurrently.")
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_secrets SET expires_at = $1
			WHERE client_id = $2 AND (expires_at IS NULL OR expires_at > $1)`, retireAt, sec.ClientID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhook_secrets (client_id, version, sealed, key_version, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			sec.ClientID, sec.Version, sec.Sealed, sec.KeyVersion, created, nullTime(sec.ExpiresAt))
		return err
	})
	if s.e.IsUniqueViolation(err) {
		return linkvault.ErrConflict("Webhook secret was rotated concurrently.")
	}
	return s.wrap("add webhook secret", err)
}

// ListWebhookSecrets returns the client's secrets, newest first.
func (s *Store) ListWebhookSecrets(ctx context.Context, clientID string) ([]linkvault.SealedWebhookSecret, error) {
	out, err := queryAll(ctx, s.e.Read(), func(r Row) (linkvault.SealedWebhookSecret, error) {
		var sec linkvault.SealedWebhookSecret
		err := r.Scan(&sec.ClientID, &sec.Version, &sec.Sealed, &sec.KeyVersion, s.t(&sec.CreatedAt), s.t(&sec.ExpiresAt))
		return sec, err
	}, `SELECT client_id, version, sealed, key_version, created_at, expires_at
		FROM webhook_secrets WHERE client_id = $1 ORDER BY version DESC`, clientID)
	return out, s.wrap("list webhook secrets", err)
}

// PruneWebhookEvents deletes up to limit finished events created before before,
// oldest first, with their delivery log, in one transaction, and returns how many
// events it deleted; events awaiting delivery stay. Concurrent prunes (every replica
// runs one) take disjoint events: the engine's SkipLocked clause makes them pass over
// each other's, or its single writer runs them one after the other.
func (s *Store) PruneWebhookEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.e.InTx(ctx, func(tx Querier) error {
		ids, err := queryAll(ctx, tx, func(r Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		}, `SELECT id FROM webhook_events
			WHERE outcome IN ('delivered', 'failed', 'skipped') AND created_at < $1
			ORDER BY created_at, id LIMIT $2`+s.e.SkipLocked(), before, limit)
		if err != nil {
			return err
		}
		// Fixed-size id lists (the last id repeated), so each statement has one text
		// and is prepared once.
		for start := 0; start < len(ids); start += pruneChunk {
			chunk := ids[start:min(start+pruneChunk, len(ids))]
			args := make([]any, pruneChunk)
			for i := range args {
				args[i] = chunk[min(i, len(chunk)-1)]
			}
			if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE event_id IN (`+pruneList+`)`, args...); err != nil {
				return err
			}
			deleted, err := tx.Exec(ctx, `DELETE FROM webhook_events WHERE id IN (`+pruneList+`)`, args...)
			if err != nil {
				return err
			}
			n += deleted
		}
		return nil
	})
	return n, s.wrap("prune webhook events", err)
}

// pruneChunk is the length of the id list of one prune statement; pruneList is its
// placeholders.
const pruneChunk = 100

var pruneList = func() string {
	var b strings.Builder
	for i := range pruneChunk {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
	}
	return b.String()
}()
