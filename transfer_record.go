package linkvault

import (
	"encoding/json"
	"time"
)

// TransferStatus is the state of the idempotency record of a managed transfer.
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

// TransferRecord is the idempotency record of one (client, clientTransactionId): a
// retried execute never pays twice.
type TransferRecord struct {
	ClientID            string
	ClientTransactionID string
	TokenID             string
	// RequestHash identifies the request body; a retry with the same id and a
	// different body is refused.
	RequestHash        []byte
	Status             TransferStatus
	ProviderTransferID string
	// Result is the answer given for a final status (the content of a completion, or
	// the error of a rejection), so a retry gets the same answer. Never secrets.
	Result json.RawMessage
	// Attempt counts claims; it fences the write of the outcome so a request that lost
	// its claim (it was presumed dead) cannot overwrite the record of the one that took
	// over.
	Attempt   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TransferPreviewRecord is a managed-transfer preview as stored (Mesh's previewId): the
// transfer a client previewed from one of its connections, kept server-side so that
// execute needs only the previewId (and an MFA code). It is bound to the client and the
// tokenId, and expires. The account service encodes the previewed transfer in Request
// (network, symbol, address, amount, the exchange's quote); it never holds secrets.
type TransferPreviewRecord struct {
	ID       string // a random UUID
	ClientID string
	TokenID  string
	// ClientTransactionID is the key of the ledger record (TransferRecord) its execution
	// uses: the app's transactionId, or one derived from the preview.
	ClientTransactionID string
	Request             json.RawMessage
	CreatedAt           time.Time
	ExpiresAt           time.Time
}
