package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
)

const transferColumns = `client_id, client_transaction_id, token_id, request_hash, status,
	provider_transfer_id, result, attempt, created_at, updated_at`

func scanTransfer(row pgx.Row) (*linkvault.TransferRecord, error) {
	var (
		t                linkvault.TransferRecord
		status           string
		result           []byte
		created, updated time.Time
	)
	if err := row.Scan(&t.ClientID, &t.ClientTransactionID, &t.TokenID, &t.RequestHash, &status,
		&t.ProviderTransferID, &result, &t.Attempt, &created, &updated); err != nil {
		return nil, err
	}
	t.Status = linkvault.TransferStatus(status)
	if result != nil {
		t.Result = json.RawMessage(result)
	}
	t.CreatedAt, t.UpdatedAt = timeFromDB(created), timeFromDB(updated)
	return &t, nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// ClaimTransfer inserts or takes over an idempotency record; see audit.TransferStore.
// The insert races are settled by the primary key (ON CONFLICT DO NOTHING), the
// takeovers by the row lock (FOR UPDATE), so two replicas can never both own a record.
func (db *DB) ClaimTransfer(ctx context.Context, t *linkvault.TransferRecord, staleBefore time.Time) (*linkvault.TransferRecord, bool, error) {
	var (
		stored  *linkvault.TransferRecord
		claimed bool
	)
	now := db.now()
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO transfers (`+transferColumns+`)
			VALUES ($1, $2, $3, $4, $5, '', NULL, 1, $6, $6)
			ON CONFLICT (client_id, client_transaction_id) DO NOTHING`,
			t.ClientID, t.ClientTransactionID, t.TokenID, t.RequestHash, string(linkvault.TransferExecuting), now)
		if err != nil {
			return fmt.Errorf("postgres: claim transfer: %w", err)
		}
		if tag.RowsAffected() == 1 {
			n := *t
			n.Status, n.Attempt, n.ProviderTransferID, n.Result = linkvault.TransferExecuting, 1, "", nil
			n.CreatedAt, n.UpdatedAt = now, now
			stored, claimed = &n, true
			return nil
		}
		cur, err := scanTransfer(tx.QueryRow(ctx, `SELECT `+transferColumns+` FROM transfers
			WHERE client_id = $1 AND client_transaction_id = $2 FOR UPDATE`, t.ClientID, t.ClientTransactionID))
		if err != nil {
			return fmt.Errorf("postgres: claim transfer: %w", err)
		}
		stored = cur
		if !bytes.Equal(cur.RequestHash, t.RequestHash) || !takeover(cur, staleBefore) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE transfers SET status = $1, attempt = attempt + 1, updated_at = $2
			WHERE client_id = $3 AND client_transaction_id = $4`,
			string(linkvault.TransferExecuting), now, t.ClientID, t.ClientTransactionID); err != nil {
			return fmt.Errorf("postgres: claim transfer: %w", err)
		}
		cur.Status, cur.Attempt, cur.UpdatedAt = linkvault.TransferExecuting, cur.Attempt+1, now
		claimed = true
		return nil
	})
	if err != nil {
		return nil, false, err
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

// FinishTransfer records the outcome of the attempt that owns the record.
func (db *DB) FinishTransfer(ctx context.Context, t *linkvault.TransferRecord) error {
	now := db.now()
	tag, err := db.pool.Exec(ctx, `UPDATE transfers SET status = $1, provider_transfer_id = $2, result = $3, updated_at = $4
		WHERE client_id = $5 AND client_transaction_id = $6 AND status = $7 AND attempt = $8`,
		string(t.Status), t.ProviderTransferID, nullJSON(t.Result), now,
		t.ClientID, t.ClientTransactionID, string(linkvault.TransferExecuting), t.Attempt)
	if err != nil {
		return fmt.Errorf("postgres: finish transfer: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return linkvault.ErrConflict("The transfer record was taken over by another request.")
	}
	t.UpdatedAt = now
	return nil
}

// GetTransfer returns one record; notFound if none.
func (db *DB) GetTransfer(ctx context.Context, clientID, clientTransactionID string) (*linkvault.TransferRecord, error) {
	t, err := scanTransfer(db.pool.QueryRow(ctx, `SELECT `+transferColumns+` FROM transfers
		WHERE client_id = $1 AND client_transaction_id = $2`, clientID, clientTransactionID))
	if isNoRows(err) {
		return nil, linkvault.ErrNotFound("Transfer")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get transfer: %w", err)
	}
	return t, nil
}
