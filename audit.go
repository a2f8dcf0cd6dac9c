package linkvault

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// AuditEntry is one use of a tokenId, as kept in the append-only audit log (written by
// internal/audit, kept by the stores).
//
// A tokenId that resolved to one of the caller's own connections is recorded in
// TokenID. A tokenId that did not (never issued, removed, or another client's) is
// recorded only by its TokenRef fingerprint: the probed value is not stored, so the log
// of one client never holds another client's tokenIds, while an operator can still
// find every probe of a given value (the CLI fingerprints the --token it is given).
type AuditEntry struct {
	ID         int64 // assigned by the store, increasing
	ClientID   string
	KeyID      string // the API key that made the call
	TokenID    string // empty unless the tokenId is the client's
	TokenRef   string // TokenFingerprint of the presented tokenId; always set
	BrokerType BrokerType
	Action     string // what was done, e.g. "holdings.get" (internal/audit names them)
	Outcome    string // "ok" or an ErrType* code
	HTTPStatus int
	CreatedAt  time.Time
	Duration   time.Duration
}

// TokenFingerprint is the reference under which a presented tokenId is logged: the
// first 16 hex characters of its SHA-256. A tokenId carries 192 random bits, so the
// fingerprint identifies it without revealing it.
func TokenFingerprint(tokenID string) string {
	sum := sha256.Sum256([]byte(tokenID))
	return hex.EncodeToString(sum[:8])
}

// AuditQuery selects audit log entries of one client, newest first.
type AuditQuery struct {
	ClientID string // required
	TokenID  string // optional: only uses of this presented tokenId (matched by fingerprint)
	// Fingerprint, with TokenID, also matches the entries of the removed connection
	// TokenID was, which keep this keyed fingerprint instead (vault.Fingerprint).
	Fingerprint string
	Since       time.Time // optional: only entries at or after this time
	Limit       int       // default AuditDefaultLimit, at most AuditMaxLimit
}

// Limits of AuditQuery.Limit.
const (
	AuditDefaultLimit = 100
	AuditMaxLimit     = 10000
)

// Normalize validates q and applies the default limit.
func (q AuditQuery) Normalize() (AuditQuery, error) {
	if err := ValidateClientID(q.ClientID); err != nil {
		return q, err
	}
	switch {
	case q.Limit == 0:
		q.Limit = AuditDefaultLimit
	case q.Limit < 0 || q.Limit > AuditMaxLimit:
		return q, ErrInvalid("limit must be between 1 and %d.", AuditMaxLimit)
	}
	return q, nil
}
