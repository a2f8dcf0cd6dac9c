package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// The audit log (internal/audit's Store) and the idempotency records of managed
// transfers (its TransferStore).

// auditRowsPerInsert bounds the rows of one multi-row INSERT (10 parameters each, far
// below either engine's parameter limit). One statement per chunk instead of one per
// row keeps the background writer's cost per entry small.
const auditRowsPerInsert = 64

// AppendAudit writes entries in one transaction and sets their IDs. A zero CreatedAt is
// set to now.
func (s *Store) AppendAudit(ctx context.Context, entries []linkvault.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.e.InTx(ctx, func(tx Querier) error {
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
					e.CreatedAt = s.now()
				}
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(")
				for j := range 10 {
					if j > 0 {
						q.WriteString(", ")
					}
					p := "$" + strconv.Itoa(len(args)+j+1)
					if j == 2 {
						// An entry recorded after its connection was removed (a call
						// in flight during the removal) keeps no tokenId: the removal
						// has already replaced it in the trail. (An empty tokenId
						// stays empty; the text depends only on the row count, so the
						// engines reuse one prepared statement per chunk size.)
						c := "$" + strconv.Itoa(len(args)+1)
						p = "CASE WHEN EXISTS (SELECT 1 FROM connections WHERE token_id = " + p + " AND client_id = " + c + ") THEN " + p + " ELSE '' END"
					}
					q.WriteString(p)
				}
				q.WriteString(")")
				args = append(args, e.ClientID, e.KeyID, e.TokenID, e.TokenRef, string(e.BrokerType),
					e.Action, e.Outcome, e.HTTPStatus, e.Duration.Microseconds(), e.CreatedAt)
			}
			q.WriteString(" RETURNING id")
			ids, err := queryAll(ctx, tx, func(r Row) (int64, error) {
				var id int64
				return id, r.Scan(&id)
			}, q.String(), args...)
			if err != nil {
				return err
			}
			// Both engines number the rows of one INSERT in VALUES order, but RETURNING
			// has no defined order.
			slices.Sort(ids)
			for i := range chunk {
				chunk[i].ID = ids[i]
			}
		}
		return nil
	})
	return s.wrap("append audit", err)
}

// ListAudit returns the entries q selects, newest first.
func (s *Store) ListAudit(ctx context.Context, q linkvault.AuditQuery) ([]linkvault.AuditEntry, error) {
	q, err := q.Normalize()
	if err != nil {
		return nil, err
	}
	args := []any{q.ClientID}
	where := "client_id = $1"
	if q.TokenID != "" {
		args = append(args, linkvault.TokenFingerprint(q.TokenID), q.Fingerprint)
		where += " AND token_ref IN ($" + strconv.Itoa(len(args)-1) + ", $" + strconv.Itoa(len(args)) + ")"
	}
	if !q.Since.IsZero() {
		args = append(args, q.Since)
		where += " AND created_at >= $" + strconv.Itoa(len(args))
	}
	args = append(args, q.Limit)
	out, err := queryAll(ctx, s.e.Read(), func(r Row) (linkvault.AuditEntry, error) {
		var (
			e          linkvault.AuditEntry
			broker     string
			durationUS int64
		)
		err := r.Scan(&e.ID, &e.ClientID, &e.KeyID, &e.TokenID, &e.TokenRef, &broker,
			&e.Action, &e.Outcome, &e.HTTPStatus, &durationUS, s.t(&e.CreatedAt))
		e.BrokerType = linkvault.BrokerType(broker)
		e.Duration = time.Duration(durationUS) * time.Microsecond
		return e, err
	}, `SELECT id, client_id, key_id, token_id, token_ref, broker_type, action, outcome, http_status, duration_us, created_at
		FROM audit_log WHERE `+where+`
		ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	return out, s.wrap("list audit", err)
}

// PruneAudit deletes up to limit entries created before before, oldest first, and
// returns how many. Concurrent prunes take disjoint entries (see PruneWebhookEvents).
func (s *Store) PruneAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	n, err := s.e.Write().Exec(ctx, `WITH doomed AS MATERIALIZED (
			SELECT id FROM audit_log WHERE created_at < $1 ORDER BY created_at, id LIMIT $2`+s.e.SkipLocked()+`
		)
		DELETE FROM audit_log WHERE id IN (SELECT id FROM doomed)`, before, limit)
	return n, s.wrap("prune audit", err)
}

const transferColumns = `client_id, client_transaction_id, token_id, request_hash, status,
	provider_transfer_id, result, attempt, created_at, updated_at`

func (s *Store) scanTransfer(row Row) (*linkvault.TransferRecord, error) {
	var (
		t      linkvault.TransferRecord
		status string
		result []byte
	)
	if err := row.Scan(&t.ClientID, &t.ClientTransactionID, &t.TokenID, &t.RequestHash, &status,
		&t.ProviderTransferID, &result, &t.Attempt, s.t(&t.CreatedAt), s.t(&t.UpdatedAt)); err != nil {
		return nil, err
	}
	t.Status = linkvault.TransferStatus(status)
	if result != nil {
		t.Result = json.RawMessage(result)
	}
	return &t, nil
}

// ClaimTransfer inserts or takes over an idempotency record; see audit.TransferStore.
// A new record is settled by the primary key (ON CONFLICT DO NOTHING); a takeover reads
// the record with the engine's ForUpdate lock, so two requests can never both own it.
func (s *Store) ClaimTransfer(ctx context.Context, t *linkvault.TransferRecord, staleBefore time.Time) (*linkvault.TransferRecord, bool, error) {
	var (
		stored  *linkvault.TransferRecord
		claimed bool
	)
	now := s.now()
	err := s.e.InTx(ctx, func(tx Querier) error {
		n, err := tx.Exec(ctx, `INSERT INTO transfers (`+transferColumns+`)
			VALUES ($1, $2, $3, $4, $5, '', NULL, 1, $6, $6)
			ON CONFLICT (client_id, client_transaction_id) DO NOTHING`,
			t.ClientID, t.ClientTransactionID, t.TokenID, t.RequestHash, string(linkvault.TransferExecuting), now)
		if err != nil {
			return err
		}
		if n == 1 {
			rec := *t
			rec.Status, rec.Attempt, rec.ProviderTransferID, rec.Result = linkvault.TransferExecuting, 1, "", nil
			rec.CreatedAt, rec.UpdatedAt = now, now
			stored, claimed = &rec, true
			return nil
		}
		cur, err := s.scanTransfer(tx.QueryRow(ctx, `SELECT `+transferColumns+` FROM transfers
			WHERE client_id = $1 AND client_transaction_id = $2`+s.e.ForUpdate(), t.ClientID, t.ClientTransactionID))
		if err != nil {
			return err
		}
		stored = cur
		if !bytes.Equal(cur.RequestHash, t.RequestHash) || !takeover(cur, staleBefore) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE transfers SET status = $1, attempt = attempt + 1, updated_at = $2
			WHERE client_id = $3 AND client_transaction_id = $4`,
			string(linkvault.TransferExecuting), now, t.ClientID, t.ClientTransactionID); err != nil {
			return err
		}
		cur.Status, cur.Attempt, cur.UpdatedAt = linkvault.TransferExecuting, cur.Attempt+1, now
		claimed = true
		return nil
	})
	if err != nil {
		return nil, false, s.wrap("claim transfer", err)
	}
	return stored, claimed, nil
}

// takeover reports whether an existing record with the same request may be claimed.
func takeover(cur *linkvault.TransferRecord, staleBefore time.Time) bool {
	switch cur.Status {
	case linkvault.TransferInterrupted:
		return true
	case linkvault.TransferExecuting:
		return cur.UpdatedAt.Before(staleBefore)
	}
	return false
}

// FinishTransfer records the outcome of the attempt that owns the record; conflict if
// another request took it over.
func (s *Store) FinishTransfer(ctx context.Context, t *linkvault.TransferRecord) error {
	now := s.now()
	n, err := s.e.Write().Exec(ctx, `UPDATE transfers SET status = $1, provider_transfer_id = $2, result = $3, updated_at = $4
		WHERE client_id = $5 AND client_transaction_id = $6 AND status = $7 AND attempt = $8`,
		string(t.Status), t.ProviderTransferID, nullText(t.Result), now,
		t.ClientID, t.ClientTransactionID, string(linkvault.TransferExecuting), t.Attempt)
	if err != nil {
		return s.errorf("finish transfer", err)
	}
	if n == 0 {
		return linkvault.ErrConflict("The transfer record was taken over by another request.")
	}
	t.UpdatedAt = now
	return nil
}

// GetTransfer returns one record; notFound if none.
func (s *Store) GetTransfer(ctx context.Context, clientID, clientTransactionID string) (*linkvault.TransferRecord, error) {
	return one(s, "get transfer", transferNotFound, s.scanTransfer, s.e.Read().QueryRow(ctx,
		`SELECT `+transferColumns+` FROM transfers WHERE client_id = $1 AND client_transaction_id = $2`, clientID, clientTransactionID))
}
