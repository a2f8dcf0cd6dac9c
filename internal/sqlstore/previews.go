package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/linkvault/linkvault"
)

// Managed-transfer previews (account.PreviewStore).

const previewColumns = `id, client_id, token_id, client_transaction_id, request, created_at, expires_at`

func previewNotFound() *linkvault.Error { return linkvault.ErrNotFound("Preview") }

func (s *Store) scanPreview(row Row) (*linkvault.TransferPreviewRecord, error) {
	var (
		p   linkvault.TransferPreviewRecord
		req string
	)
	if err := row.Scan(&p.ID, &p.ClientID, &p.TokenID, &p.ClientTransactionID, &req, s.t(&p.CreatedAt), s.t(&p.ExpiresAt)); err != nil {
		return nil, err
	}
	p.Request = json.RawMessage(req)
	return &p, nil
}

// CreateTransferPreview inserts p; conflict if its id exists.
func (s *Store) CreateTransferPreview(ctx context.Context, p *linkvault.TransferPreviewRecord) error {
	n, err := s.e.Write().Exec(ctx, `INSERT INTO transfer_previews (`+previewColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.ClientID, p.TokenID, p.ClientTransactionID, string(p.Request), p.CreatedAt, p.ExpiresAt)
	if err != nil {
		return s.errorf("create transfer preview", err)
	}
	if n == 0 {
		return linkvault.ErrConflict("A preview with this id exists.")
	}
	return nil
}

// GetTransferPreview returns the client's preview; notFound when it does not exist or
// is another client's (the same answer).
func (s *Store) GetTransferPreview(ctx context.Context, clientID, id string) (*linkvault.TransferPreviewRecord, error) {
	return one(s, "get transfer preview", previewNotFound, s.scanPreview, s.e.Read().QueryRow(ctx,
		`SELECT `+previewColumns+` FROM transfer_previews WHERE id = $1 AND client_id = $2`, id, clientID))
}

// DeleteTransferPreviews deletes previews that expired before before, and returns how
// many.
func (s *Store) DeleteTransferPreviews(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.e.Write().Exec(ctx, `DELETE FROM transfer_previews WHERE expires_at < $1`, before)
	return n, s.wrap("delete transfer previews", err)
}

// ListCompletedTransfers returns a page of the client's completed transfers, newest
// first, and how many there are in all.
func (s *Store) ListCompletedTransfers(ctx context.Context, clientID string, limit, offset int) ([]*linkvault.TransferRecord, int, error) {
	var total int
	if err := s.e.Read().QueryRow(ctx, `SELECT count(*) FROM transfers WHERE client_id = $1 AND status = $2`,
		clientID, string(linkvault.TransferCompleted)).Scan(&total); err != nil {
		return nil, 0, s.errorf("count transfers", err)
	}
	out, err := queryAll(ctx, s.e.Read(), s.scanTransfer, `SELECT `+transferColumns+` FROM transfers
		WHERE client_id = $1 AND status = $2 ORDER BY created_at DESC, client_transaction_id LIMIT $3 OFFSET $4`,
		clientID, string(linkvault.TransferCompleted), limit, offset)
	if err != nil {
		return nil, 0, s.errorf("list transfers", err)
	}
	return out, total, nil
}
