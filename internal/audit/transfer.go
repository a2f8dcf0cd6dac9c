package audit

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/linkvault/linkvault"
)

// HashRequest is the RequestHash of a canonical encoding of a request.
func HashRequest(canonical []byte) []byte {
	sum := sha256.Sum256(canonical)
	return sum[:]
}

// TransferStore keeps idempotency records. Implemented by internal/sqlite and
// internal/postgres.
type TransferStore interface {
	// ClaimTransfer inserts t as executing (Attempt 1) when no record of
	// (t.ClientID, t.ClientTransactionID) exists. When one exists with the same
	// RequestHash that is interrupted, or executing but not updated since staleBefore,
	// it takes it over (status executing, Attempt+1). It returns the record as stored
	// after the call and whether the caller now owns the execution. A record with a
	// different RequestHash is returned unclaimed and unchanged.
	ClaimTransfer(ctx context.Context, t *linkvault.TransferRecord, staleBefore time.Time) (stored *linkvault.TransferRecord, claimed bool, err error)
	// FinishTransfer writes t's Status, ProviderTransferID and Result if the record is
	// still executing at t.Attempt; conflict otherwise (another request took it over).
	FinishTransfer(ctx context.Context, t *linkvault.TransferRecord) error
	// GetTransfer returns a record; notFound if none.
	GetTransfer(ctx context.Context, clientID, clientTransactionID string) (*linkvault.TransferRecord, error)
}
