// Package link is the Link session service: the short-lived, single-use sessions an app
// opens for one of its users (POST /api/v1/linktoken), and every step the Link UI takes
// inside one: the OAuth authorization-code round trip with state and PKCE kept
// server-side, the credentials login with its MFA step, re-authentication of a
// connection that needs it (keeping its tokenId), and the validation of the tokenIds a
// return user's app passes back in. It knows nothing of HTTP: internal/http maps it onto
// the Link page and its JSON endpoints.
//
// Sessions live in the database, so replicas stay stateless. Nothing that could be
// replayed is stored in the clear: the session id, the page secret and the OAuth state
// are stored as SHA-256 digests, and the pending step (PKCE verifier, MFA challenge) is
// sealed with the client's data key.
package link

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"github.com/linkvault/linkvault"
)

// Store keeps Link sessions. Implemented by internal/sqlite and internal/postgres and
// verified by internal/storetest.
type Store interface {
	// CreateLinkSession inserts s with Version 1 (set on s); conflict if the key exists.
	CreateLinkSession(ctx context.Context, s *linkvault.LinkSession) error
	// GetLinkSession returns the session with the given key, or notFound.
	GetLinkSession(ctx context.Context, key string) (*linkvault.LinkSession, error)
	// GetLinkSessionByPage returns the session whose PageKey is pageKey, or notFound.
	GetLinkSessionByPage(ctx context.Context, pageKey string) (*linkvault.LinkSession, error)
	// GetLinkSessionByState returns the session whose StateKey is stateKey, or notFound.
	GetLinkSessionByState(ctx context.Context, stateKey string) (*linkvault.LinkSession, error)
	// ConsumeLinkSession atomically marks the session opened: only if it was never
	// consumed and expires after at, it sets ConsumedAt=at, PageKey=pageKey and
	// ExpiresAt=expiresAt and returns the updated session. Otherwise notFound, the same
	// answer whether the session never existed, expired or was already used.
	ConsumeLinkSession(ctx context.Context, key, pageKey string, at, expiresAt time.Time) (*linkvault.LinkSession, error)
	// UpdateLinkSession writes StateKey, Pending, PendingKeyVersion and Outcome if the
	// stored version equals s.Version (conflict otherwise), then bumps s.Version.
	UpdateLinkSession(ctx context.Context, s *linkvault.LinkSession) error
	// DeleteExpiredLinkSessions deletes up to limit sessions that expired before
	// before and returns how many it deleted.
	DeleteExpiredLinkSessions(ctx context.Context, before time.Time, limit int) (int, error)
}

// digest is the stored form of a bearer value (session id, page secret, OAuth state).
func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// sameDigest compares two stored digests in constant time. The stores find a session
// by the digest of a presented bearer value; the service compares again without
// branching on the content, so no store's lookup can be the only check.
func sameDigest(stored, presented string) bool {
	return len(stored) == len(presented) && subtle.ConstantTimeCompare([]byte(stored), []byte(presented)) == 1
}

// Secret sizes in random bytes (all above 128 bits).
const (
	sessionIDBytes  = 24
	pageSecretBytes = 32
	stateBytes      = 24
	verifierBytes   = 48 // 64 base64url characters, inside RFC 7636's 43..128
	resumeBytes     = 32
)

// plausibleBearer rejects values that can never be one of our random ids without
// touching the database.
func plausibleBearer(v string) bool { return linkvault.PlausibleID(v, 16, 128) }
