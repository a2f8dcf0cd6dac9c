package linkvault

import (
	"context"
	"time"
)

// The store interfaces below are implemented by internal/sqlite and internal/postgres
// and verified by the shared conformance suite in internal/storetest. Every method
// returns *Error values for expected outcomes (notFound, conflict); anything else is a
// serverFailure whose text never reaches a client.

// ClientStore keeps clients.
type ClientStore interface {
	CreateClient(ctx context.Context, c *Client) error // conflict if the id exists
	GetClient(ctx context.Context, id string) (*Client, error)
	ListClients(ctx context.Context) ([]*Client, error)
	SetClientWebhookURL(ctx context.Context, id, url string) error
	// UpdateClient replaces the client's Name, Logo and AllowedOrigins (notFound if
	// it does not exist); the other fields are left as they are.
	UpdateClient(ctx context.Context, c *Client) error
}

// APIKeyStore keeps API keys (hashed).
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, clientID string) ([]*APIKey, error)
	// RevokeAPIKey marks the key revoked at the given time; notFound if it is not the client's.
	RevokeAPIKey(ctx context.Context, clientID, id string, at time.Time) error
	// UpgradeAPIKeyVerifier replaces the key's verifier if it still holds from at
	// fromVersion (compare-and-swap): conflict if not, notFound if the key does not exist.
	UpgradeAPIKeyVerifier(ctx context.Context, id string, from []byte, fromVersion int, to []byte, toVersion int) error
}

// DataKeyStore keeps wrapped per-client data keys.
type DataKeyStore interface {
	// CreateDataKey inserts a key; conflict if (client, version) exists.
	CreateDataKey(ctx context.Context, k *DataKey) error
	GetDataKey(ctx context.Context, clientID string, version int) (*DataKey, error)
	// LatestDataKey returns the highest version for the client, or notFound.
	LatestDataKey(ctx context.Context, clientID string) (*DataKey, error)
	ListDataKeys(ctx context.Context) ([]*DataKey, error)
	// RewrapDataKey replaces the wrapped bytes if the key is still wrapped by
	// fromMasterVersion (conflict otherwise), so concurrent rotations cannot clobber.
	RewrapDataKey(ctx context.Context, clientID string, version int, wrapped []byte, fromMasterVersion, toMasterVersion int) error
}

// ConnectionStore keeps connections. Mutations take the events to put in the
// transactional outbox in the same database transaction.
type ConnectionStore interface {
	// CreateConnection inserts c with Version 1 (set on c); conflict if the tokenId or
	// the identity already exists.
	CreateConnection(ctx context.Context, c *Connection, events ...Event) error
	// GetConnection returns the client's connection; ErrTokenNotFound when the tokenId
	// does not exist or belongs to another client (the same error, no oracle).
	GetConnection(ctx context.Context, clientID, tokenID string) (*Connection, error)
	// FindConnection looks a connection up by identity; notFound if none.
	FindConnection(ctx context.Context, id ConnectionIdentity) (*Connection, error)
	// ListUserConnections lists a user's connections of one client.
	ListUserConnections(ctx context.Context, clientID, userID string) ([]*Connection, error)
	// UpdateConnection writes every mutable field of c if the stored version equals
	// c.Version (conflict otherwise), then sets c.Version to the new version.
	UpdateConnection(ctx context.Context, c *Connection, events ...Event) error
	// UpdateConnectionRevoking is UpdateConnection that also writes revs into the
	// revocation queue in the same transaction (a replaced credential's grant).
	UpdateConnectionRevoking(ctx context.Context, c *Connection, revs []PendingRevocation, events ...Event) error
	// DeleteConnection physically deletes the row; ErrTokenNotFound if absent.
	DeleteConnection(ctx context.Context, clientID, tokenID string, events ...Event) error
	// RemoveConnection deletes the connection and, in the same transaction, everything
	// else that identifies it: its Link sessions and transfer previews are deleted,
	// its finished webhook events minimised, its tokenId in the audit trail and the
	// transfer ledger replaced by r.Fingerprint; r.Revocations are queued.
	// ErrTokenNotFound if absent.
	RemoveConnection(ctx context.Context, r Removal, events ...Event) error
	// ClaimDueConnections leases up to limit connections with NextCheckAt <= now whose
	// lease is free or expired, setting LeaseOwner/LeaseExpiresAt and bumping Version
	// (so a writer holding an older lease is fenced out). Different callers never get
	// the same row while a lease is live (FOR UPDATE SKIP LOCKED on PostgreSQL).
	ClaimDueConnections(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]*Connection, error)
	// CountConnections returns the number of stored connections.
	CountConnections(ctx context.Context) (int64, error)
}

// Store is everything the foundation needs from a database.
type Store interface {
	ClientStore
	APIKeyStore
	DataKeyStore
	ConnectionStore
	Close() error
}
