package linkvault

import (
	"context"
	"encoding/json"
	"time"
)

// TokenIDBytes is the entropy of a tokenId: 192 bits.
const TokenIDBytes = 24

// NewTokenID returns a fresh random tokenId.
func NewTokenID() string { return NewRandomID(TokenIDBytes) }

// PlausibleTokenID reports whether id could be a tokenId (1-128 characters of
// base64url). Every path that looks a presented tokenId up checks it first and answers
// an implausible one as "not found" without touching the database, so a value one
// store would refuse (NUL on PostgreSQL) never reaches either.
func PlausibleTokenID(id string) bool { return PlausibleID(id, 1, 128) }

// ConnectionStatus is the lifecycle state of a connection.
type ConnectionStatus string

const (
	StatusActive         ConnectionStatus = "active"
	StatusReauthRequired ConnectionStatus = "reauth_required"
)

// ConnectionIdentity is what makes a connection unique: the same user of the same client
// connecting the same integration with the same scope gets the same tokenId.
type ConnectionIdentity struct {
	ClientID   string
	UserID     string
	BrokerType BrokerType
	Scope      Permission
}

// Connection is one connected exchange account set, addressed by its persistent TokenID.
// The credential is held only sealed; see Credential for the plaintext form.
type Connection struct {
	TokenID string
	ConnectionIdentity
	// UpstreamAccount is the exchange's id for the user whose grant the connection
	// holds (the credential's Subject when it was sealed; empty when the exchange names
	// none).
	UpstreamAccount string
	Status          ConnectionStatus
	Accounts        []Account

	// SealedCredential is the AES-GCM ciphertext of EncodeCredential under data key
	// KeyVersion, bound as associated data to every field of the row that grants power:
	// client, tokenId, userId, brokerType, scope, upstream account and key version (see
	// CredentialSealer). Editing any of them in the database makes it refuse to open.
	SealedCredential []byte
	KeyVersion       int

	AccessExpiresAt  time.Time // zero: does not expire (Uphold-like)
	RefreshExpiresAt time.Time // zero: unknown / none
	// NextCheckAt is when the lifecycle engine should next look at the connection
	// (refresh ahead of expiry, or periodic validation). Zero: never.
	NextCheckAt  time.Time
	FailureCount int    // consecutive transient failures
	LastError    string // an ErrType* code, never upstream text

	// Lease held by a lifecycle engine worker; empty owner means no lease.
	LeaseOwner     string
	LeaseExpiresAt time.Time

	// Version increases on every write; updates must name the version they read
	// (optimistic concurrency and lease fencing).
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Account is one account inside a connected integration, as shown to the app.
type Account struct {
	AccountID   string  `json:"accountId"`
	AccountName string  `json:"accountName"`
	Fund        float64 `json:"fund"`
	Cash        float64 `json:"cash"`
}

// Credential is the plaintext credential of a connection. It exists only in memory: it is
// sealed before it is stored, and its secrets never print.
type Credential struct {
	AccessToken  Secret
	RefreshToken Secret
	TokenType    string
	Expiry       time.Time // access token / session expiry; zero = no expiry known
	// RefreshExpiry is when the refresh token (or grant) lapses, if the provider says.
	RefreshExpiry time.Time
	// Subject is the provider's id for the user (not secret).
	Subject string
	// APISecret is the secret of a user-created API key (Binance signs requests with
	// it, HMAC-SHA256); AccessToken then holds the key itself.
	APISecret Secret
}

// Expired reports whether the access part is expired at now, with skew of early margin.
func (c Credential) Expired(now time.Time, skew time.Duration) bool {
	return !c.Expiry.IsZero() && !now.Add(skew).Before(c.Expiry)
}

// CanRefresh reports whether the credential can be renewed without the user.
func (c Credential) CanRefresh() bool { return !c.RefreshToken.IsZero() }

// CredentialSealer seals and opens connection credentials bound to their row
// (implemented by internal/envelope's Keyring).
type CredentialSealer interface {
	// SealCredential encrypts cred for the row c as it is (identity, UpstreamAccount),
	// under c's client's current data key, and returns the ciphertext and that key's
	// version for c.SealedCredential and c.KeyVersion.
	SealCredential(ctx context.Context, c *Connection, cred Credential) (sealed []byte, keyVersion int, err error)
	// OpenCredential decrypts c.SealedCredential; it fails with an error of type
	// ErrTypeCredentialIntegrity when any bound field of c differs from what was sealed.
	OpenCredential(ctx context.Context, c *Connection) (Credential, error)
}

// ErrCredentialIntegrity is the answer when a stored credential does not open for its
// row: the row was altered in the database (or the ciphertext damaged). The credential
// is not used; the cause is for logs only.
func ErrCredentialIntegrity(cause error) *Error {
	return &Error{Status: StatusServerFailure, Type: ErrTypeCredentialIntegrity,
		Message: "The stored credential of this connection failed its integrity check and was not used; connect the account again.",
		Err:     cause}
}

type credentialWire struct {
	V             int       `json:"v"`
	AccessToken   string    `json:"at,omitempty"`
	RefreshToken  string    `json:"rt,omitempty"`
	TokenType     string    `json:"tt,omitempty"`
	Expiry        time.Time `json:"exp,omitzero"`
	RefreshExpiry time.Time `json:"rexp,omitzero"`
	Subject       string    `json:"sub,omitempty"`
	APISecret     string    `json:"sk,omitempty"`
}

// EncodeCredential serialises c for sealing. The result holds plaintext secrets: pass it
// straight to the sealer and never store or log it.
func EncodeCredential(c Credential) []byte {
	b, err := json.Marshal(credentialWire{
		V: 1, AccessToken: c.AccessToken.Reveal(), RefreshToken: c.RefreshToken.Reveal(),
		TokenType: c.TokenType, Expiry: c.Expiry, RefreshExpiry: c.RefreshExpiry, Subject: c.Subject,
		APISecret: c.APISecret.Reveal(),
	})
	if err != nil {
		panic("linkvault: encode credential: " + err.Error()) // plain struct; cannot fail
	}
	return b
}

// DecodeCredential parses the output of EncodeCredential or of AppendCredential.
func DecodeCredential(b []byte) (Credential, error) {
	if len(b) > 0 && b[0] == credentialBinaryV2 {
		return decodeCredentialBinary(b)
	}
	var w credentialWire
	if err := json.Unmarshal(b, &w); err != nil || w.V != 1 {
		return Credential{}, &Error{Status: StatusServerFailure, Type: ErrTypeInternal, Message: "Stored credential is unreadable."}
	}
	return Credential{
		AccessToken: NewSecret(w.AccessToken), RefreshToken: NewSecret(w.RefreshToken),
		TokenType: w.TokenType, Expiry: w.Expiry, RefreshExpiry: w.RefreshExpiry, Subject: w.Subject,
		APISecret: NewSecret(w.APISecret),
	}, nil
}

// Event types delivered to a client's webhook.
const (
	EventConnectionCreated   = "connection.created"
	EventReauthRequired      = "connection.reauth_required"
	EventExpiryWarning       = "connection.expiry_warning"
	EventConnectionRecovered = "connection.recovered"
	EventConnectionRemoved   = "connection.removed"
	// EventConnectionRevoked: the exchange grant of a removed connection reached its
	// final revocation state (details.revocation, a RevocationState).
	EventConnectionRevoked = "connection.revoked"
	// EventAccountChanged: a reconnect of the same user and integration logged in to a
	// different exchange account; the tokenId stayed, its holdings are the new
	// account's.
	EventAccountChanged = "connection.account_changed"
)

// Event is a state change to notify a client of. Stores write events into their
// transactional outbox in the same transaction as the state change they describe.
type Event struct {
	ID        string // unique, stable across delivery attempts (webhook-id)
	ClientID  string
	Type      string
	TokenID   string
	Data      json.RawMessage // event-specific JSON, never secrets
	CreatedAt time.Time
}

// WithDefaults returns e with its empty fields filled as the stores record them: a
// random ID, the client and tokenId of the connection the mutation touched, now as the
// creation time, and {} as data.
func (e Event) WithDefaults(clientID, tokenID string, now time.Time) Event {
	if e.ID == "" {
		e.ID = NewRandomID(16)
	}
	if e.ClientID == "" {
		e.ClientID = clientID
	}
	if e.TokenID == "" {
		e.TokenID = tokenID
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage(`{}`)
	}
	return e
}
