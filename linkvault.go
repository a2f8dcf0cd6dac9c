// Package linkvault is the domain of the managed-token service: the types every layer
// shares (clients, API keys, connections, credentials), every record the stores persist
// (Link sessions, audit entries, transfer idempotency records, webhook claims,
// deliveries and secrets), the error codes that become the Mesh response envelope, and
// the small interfaces between the layers. It depends on the standard library only;
// concrete stores, crypto, providers and HTTP live in internal/ packages and are wired
// together in cmd/linkvault. Because the records live here, the stores import this
// package and their drivers only, never a service package.
package linkvault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Permission is the power of an API key, and the scope of a connection created under it.
type Permission string

const (
	PermissionRead  Permission = "read"
	PermissionWrite Permission = "write"
)

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool { return p == PermissionRead || p == PermissionWrite }

// Allows reports whether a credential of permission p may perform an operation that needs
// permission need. Write implies read.
func (p Permission) Allows(need Permission) bool {
	return p == need || (p == PermissionWrite && need == PermissionRead)
}

// ParsePermission validates s.
func ParsePermission(s string) (Permission, error) {
	p := Permission(s)
	if !p.Valid() {
		return "", ErrInvalid("permission must be %q or %q", PermissionRead, PermissionWrite)
	}
	return p, nil
}

// BrokerType names an integration, with the exact strings of the Mesh wire contract.
type BrokerType string

const (
	BrokerCoinbase BrokerType = "coinbase"
	BrokerBinance  BrokerType = "binanceInternationalDirect"
	BrokerUphold   BrokerType = "uphold"
	BrokerSandbox  BrokerType = "sandbox"
)

// BrokerTypes lists every supported integration in catalog order.
var BrokerTypes = []BrokerType{BrokerCoinbase, BrokerBinance, BrokerUphold, BrokerSandbox}

// Valid reports whether b is a supported integration.
func (b BrokerType) Valid() bool {
	for _, t := range BrokerTypes {
		if b == t {
			return true
		}
	}
	return false
}

// ParseBrokerType validates s.
func ParseBrokerType(s string) (BrokerType, error) {
	b := BrokerType(s)
	if !b.Valid() {
		return "", Errorf(StatusBadRequest, ErrTypeUnknownBrokerType, "Unknown brokerType; expected one of coinbase, binanceInternationalDirect, uphold, sandbox.")
	}
	return b, nil
}

// MaxUserIDLength is the longest userId the API accepts (Mesh contract: 1..300 chars).
const MaxUserIDLength = 300

// ValidateUserID checks the userId rule of the wire contract (1..300 characters) and
// that it is an identifier: not only white space, valid UTF-8 without control
// characters (Unicode category Cc). Invalid text is refused rather than repaired, since repairing it (U+FFFD) would
// give two different userIds the same connections.
func ValidateUserID(userID string) error {
	if userID == "" {
		return ErrInvalid("userId is required.")
	}
	if strings.TrimFunc(userID, unicode.IsSpace) == "" {
		return ErrInvalid("userId must not be blank (only spaces).")
	}
	if !utf8.ValidString(userID) {
		return ErrInvalid("userId must be valid UTF-8 text.")
	}
	if strings.IndexFunc(userID, unicode.IsControl) >= 0 {
		return ErrInvalid("userId must not contain control characters.")
	}
	if utf8.RuneCountInString(userID) > MaxUserIDLength {
		return ErrInvalid("userId must be at most %d characters.", MaxUserIDLength)
	}
	return nil
}

// Client is an application that uses linkvault. Its API keys authenticate it.
type Client struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// WebhookURL is where events are delivered; empty disables delivery.
	WebhookURL string
	// Logo is an optional logo the Link page shows next to Name on its first screen:
	// a data: URI of a PNG, JPEG, WebP or SVG image (the page loads nothing from
	// elsewhere). Empty: none.
	Logo string
	// AllowedOrigins are the web origins ("https://app.example") allowed to frame the
	// client's Link pages (Content-Security-Policy frame-ancestors) and to receive
	// their messages. "*" allows any site, only when the operator sets it. Empty: no
	// site may frame the page (native SDKs and full-page use still work).
	AllowedOrigins []string
}

// ValidateClientID checks that id is a plain identifier (what X-Client-Id carries):
// 1-64 characters of A-Z, a-z, 0-9, '_' or '-'.
func ValidateClientID(id string) error {
	if !PlausibleID(id, 1, 64) {
		return ErrInvalid("client id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'.")
	}
	return nil
}

// APIKey is one secret of a client. Only a verifier of the secret is stored.
type APIKey struct {
	ID         string // public part, embedded in the secret so lookups need no scan
	ClientID   string
	Permission Permission
	// SecretHash is the verifier of the secret; compare in constant time. Version
	// APIKeyVerifierKeyed (what internal/clients writes) is keyed by a secret derived
	// from the master key and binds the key id, client and permission, so a database
	// writer can neither mint a key nor widen one. Version APIKeyVerifierSHA256 (rows
	// written before it) is the plain SHA-256 of the secret and authenticates nothing.
	SecretHash      []byte
	VerifierVersion int
	CreatedAt       time.Time
	RevokedAt       time.Time // zero while valid
}

// Versions of APIKey.SecretHash.
const (
	APIKeyVerifierSHA256 = 1
	APIKeyVerifierKeyed  = 2
)

// Active reports whether the key may authenticate.
func (k *APIKey) Active() bool { return k.RevokedAt.IsZero() }

// DataKey is a client's data-encryption key, stored wrapped by a master key.
type DataKey struct {
	ClientID      string
	Version       int    // increases per client; new ciphertexts use the highest
	Wrapped       []byte // the key sealed by the master key
	MasterVersion int    // which master key version wrapped it
	CreatedAt     time.Time
}

// PlausibleID reports whether s could be an id made by NewRandomID: between minLen and
// maxLen characters of unpadded base64url. Callers use it to answer "not found" for
// values that can never match, without touching the database.
func PlausibleID(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// NewRandomID returns n random bytes in unpadded base64url: IDs and tokenIds never derive
// from user data.
func NewRandomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("linkvault: crypto/rand failed: %v", err)) // cannot happen on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Sealer encrypts credentials at rest. Implementations bind every ciphertext to
// (clientID, tokenID) as associated data, so a ciphertext copied onto another row fails
// to open.
type Sealer interface {
	// Seal encrypts plaintext under the client's current data key and returns the
	// ciphertext and that key's version.
	Seal(ctx context.Context, clientID, tokenID string, plaintext []byte) (ciphertext []byte, keyVersion int, err error)
	// Open decrypts a ciphertext produced by Seal for the same client and tokenId.
	Open(ctx context.Context, clientID, tokenID string, keyVersion int, ciphertext []byte) ([]byte, error)
}

// KeyringReplica is what a running server advertises about its master keyring: the
// master key versions it holds and the one it wraps new data keys with. Key rotation
// re-wraps data keys only once every live replica holds the new version.
type KeyringReplica struct {
	ID          string
	Held        []int // ascending
	WrapVersion int
	SeenAt      time.Time
}

// Holds reports whether the replica holds master key version v.
func (r KeyringReplica) Holds(v int) bool {
	for _, h := range r.Held {
		if h == v {
			return true
		}
	}
	return false
}
