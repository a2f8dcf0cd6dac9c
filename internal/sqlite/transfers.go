package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
)

const transferColumns = `client_id, client_transaction_id, token_id, request_hash, status,
	provider_transfer_id, result, attempt, created_at, updated_at`

func scanTransfer(row rowScanner) (*linkvault.TransferRecord, error) {
	var (
		t                linkvault.TransferRecord
		status           string
		result           sql.NullString
		created, updated int64
	)
	if err := row.Scan(&t.ClientID, &t.ClientTransactionID, &t.TokenID, &t.RequestHash, &status,
		&t.ProviderTransferID, &result, &t.Attempt, &created, &updated); err != nil {
		return nil, err
	}
	t.Status = linkvault.TransferStatus(status)
	if result.Valid {
		t.Result = json.RawMessage(result.String)
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
// The single writer connection serialises claims, so two requests can never both own a
// record.
func (db *DB) ClaimTransfer(ctx context.Context, t *linkvault.TransferRecord, staleBefore time.Time) (*linkvault.TransferRecord, bool, error) {
	var (
		stored  *linkvault.TransferRecord
		claimed bool
	)
	now := db.now()
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanTransfer(tx.QueryRowContext(ctx, `SELECT `+transferColumns+` FROM transfers
			WHERE client_id = ? AND client_transaction_id = ?`, t.ClientID, t.ClientTransactionID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			n := *t
			n.Status, n.Attempt, n.ProviderTransferID, n.Result = linkvault.TransferExecuting, 1, "", nil
			n.CreatedAt, n.UpdatedAt = now, now
			if _, err := tx.ExecContext(ctx, `INSERT INTO transfers (`+transferColumns+`)
				VALUES (?, ?, ?, ?, ?, '', NULL, 1, ?, ?)`,
				n.ClientID, n.ClientTransactionID, n.TokenID, n.RequestHash, string(n.Status),
				timeToDB(now), timeToDB(now)); err != nil {
				return fmt.Errorf("sqlite: claim transfer: %w", err)
			}
			stored, claimed = &n, true
			return nil
		case err != nil:
			return fmt.Errorf("sqlite: claim transfer: %w", err)
		}
		stored = cur
		if !bytes.Equal(cur.RequestHash, t.RequestHash) || !takeover(cur, staleBefore) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE transfers SET status = ?, attempt = attempt + 1, updated_at = ?
			WHERE client_id = ? AND client_transaction_id = ?`,
			string(linkvault.TransferExecuting), timeToDB(now), t.ClientID, t.ClientTransactionID); err != nil {
			return fmt.Errorf("sqlite: claim transfer: %w", err)
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
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE transfers SET status = ?, provider_transfer_id = ?, result = ?, updated_at = ?
			WHERE client_id = ? AND client_transaction_id = ? AND status = ? AND attempt = ?`,
			string(t.Status), t.ProviderTransferID, nullJSON(t.Result), timeToDB(now),
			t.ClientID, t.ClientTransactionID, string(linkvault.TransferExecuting), t.Attempt)
		if err != nil {
			return fmt.Errorf("sqlite: finish transfer: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: finish transfer: %w", err)
		}
		if n == 0 {
			return linkvault.ErrConflict("The transfer record was taken over by another request.")
		}
		t.UpdatedAt = now
		return nil
	})
}

// GetTransfer returns one record; notFound if none.
func (db *DB) GetTransfer(ctx context.Context, clientID, clientTransactionID string) (*linkvault.TransferRecord, error) {
	row, err := db.queryRow(ctx, `SELECT `+transferColumns+` FROM transfers
		WHERE client_id = ? AND client_transaction_id = ?`, clientID, clientTransactionID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get transfer: %w", err)
	}
	t, err := scanTransfer(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, linkvault.ErrNotFound("Transfer")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get transfer: %w", err)
	}
	return t, nil
}
