package linkvault

import "time"

// RevocationState says what became of the exchange grant of a removed or replaced
// credential. The API's answer to DELETE /api/v1/account and the connection.revoked
// webhook carry it.
type RevocationState string

const (
	// RevocationRevoked: the exchange confirmed the revocation.
	RevocationRevoked RevocationState = "revoked"
	// RevocationPending: the exchange did not answer (or answered a transient error);
	// the credential waits, sealed, in the revocation queue, which retries until the
	// exchange confirms or refuses.
	RevocationPending RevocationState = "revocationPending"
	// RevocationRefused: the exchange refused the revocation for good (its answer was
	// not transient); the sealed copy is deleted.
	RevocationRefused RevocationState = "revocationRefused"
	// RevocationUnsupported: the exchange has no revocation endpoint (Binance: the
	// user deletes the API key in the exchange's settings).
	RevocationUnsupported RevocationState = "revocationUnsupported"
	// RevocationUnreadable: the stored credential could not be decrypted (its data
	// key or master key version is gone, or the row was tampered with), so linkvault
	// cannot present it to the exchange.
	RevocationUnreadable RevocationState = "revocationUnreadable"
)

// Final reports whether nothing more will be tried for the grant.
func (s RevocationState) Final() bool { return s != RevocationPending }

// Why a credential went into the revocation queue.
const (
	RevocationReasonRemoved  = "removed"  // the connection was removed (DELETE /api/v1/account)
	RevocationReasonReplaced = "replaced" // a reconnect or re-authentication superseded it
)

// PendingRevocation is a credential whose grant must still be revoked at its exchange:
// an entry of the durable revocation queue. It is written in the same transaction as
// the change that made the credential obsolete (removal, replacement) and deleted once
// the exchange confirmed or refused the revocation.
//
// The credential is sealed again for the queue, bound to (ClientID, SealID) as
// associated data, so it opens only as this entry.
type PendingRevocation struct {
	ID         string
	ClientID   string
	TokenID    string // the connection it came from (for the connection.revoked event)
	BrokerType BrokerType
	Reason     string // RevocationReason*

	Sealed     []byte
	KeyVersion int

	Attempts      int
	NextAttemptAt time.Time
	LastError     string // an error kind, never upstream text

	// Lease held by a revocation worker while it tries; empty owner means none.
	LeaseOwner     string
	LeaseExpiresAt time.Time

	CreatedAt time.Time
}

// SealID is the name the entry's credential is sealed under (the associated data's
// tokenId part): distinct from every tokenId, so the queue's ciphertext cannot be
// copied onto a connection row or the other way round.
func (r PendingRevocation) SealID() string { return "revocation:" + r.ID }

// NewRevocationID returns a fresh random id for a queue entry.
func NewRevocationID() string { return "rvk_" + NewRandomID(16) }

// Removal is what ConnectionStore.RemoveConnection does in the transaction that deletes
// a connection: besides the row, nothing that identifies the connection may stay.
type Removal struct {
	ClientID string
	TokenID  string
	// Fingerprint replaces the tokenId in the records that outlive the connection (the
	// audit trail, the transfer ledger): a keyed HMAC, so that only linkvault can tell
	// which records belonged together. Empty clears the tokenId from them instead.
	Fingerprint string
	// Revocations go into the revocation queue.
	Revocations []PendingRevocation
}
