package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"
)

// TransferStatus is the state of an idempotency record of a managed transfer.
type TransferStatus string

const (
	// TransferExecuting: a request holds the record and is calling the exchange.
	TransferExecuting TransferStatus = "executing"
	// TransferInterrupted: the last attempt ended without a final answer (a transient
	// failure, a refused credential, a crash). Whether the exchange executed is unknown,
	// so a retry calls it again with the same idempotency key, which it deduplicates.
	TransferInterrupted TransferStatus = "interrupted"
	// TransferCompleted: the exchange accepted the transfer; Result is the answer.
	TransferCompleted TransferStatus = "completed"
	// TransferRejected: the exchange refused it (bad address, insufficient funds);
	// Result is the error. Final, like a completion.
	TransferRejected TransferStatus = "rejected"
)

// Final reports whether s is a final outcome that a retry replays.
func (s TransferStatus) Final() bool { return s == TransferCompleted || s == TransferRejected }

// Transfer is the idempotency record of one (client, clientTransactionId).
type Transfer struct {
	ClientID            string
	ClientTransactionID string
	TokenID             string
	// RequestHash identifies the request body (see HashRequest); a retry with the same
	// id and a different body is refused.
	RequestHash        []byte
	Status             TransferStatus
	ProviderTransferID string
	// Result is the answer given for a final status (the content of a completion, or
	// the error of a rejection), so a retry gets the same answer. Never secrets.
	Result json.RawMessage
	// Attempt counts claims; it fences FinishTransfer so a request that lost its claim
	// (it was presumed dead) cannot overwrite the record of the one that took over.
	Attempt   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

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
	ClaimTransfer(ctx context.Context, t *Transfer, staleBefore time.Time) (stored *Transfer, claimed bool, err error)
	// FinishTransfer writes t's Status, ProviderTransferID and Result if the record is
	// still executing at t.Attempt; conflict otherwise (another request took it over).
	FinishTransfer(ctx context.Context, t *Transfer) error
	// GetTransfer returns a record; notFound if none.
	GetTransfer(ctx context.Context, clientID, clientTransactionID string) (*Transfer, error)
}
