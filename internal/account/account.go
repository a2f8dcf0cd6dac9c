// Package account is the one path for using a connection: every call that presents a
// tokenId — the REST API (internal/http api_*.go) and the Link page's JSON calls
// (internal/http link_api.go) alike — goes through a Service, which decides, in this
// order and in one place:
//
//  1. resolution: the tokenId must be one of the caller's client's connections (another
//     client's tokenId, a removed one and one never issued give the same
//     ErrTokenNotFound); a stated brokerType must match (else the same not found); a
//     Link page may only use the connections of its own user and scope (else the same
//     not found);
//  2. scope: a write operation with a read-scoped connection, or by a read caller, is
//     refused (403) before anything runs: nothing is executed, nothing reaches the
//     exchange;
//  3. re-authentication: a connection marked re-auth-required answers 423;
//  4. freshness: the credential is renewed first when needed (Lifecycle.EnsureFresh); a
//     credential the exchange refuses goes through Lifecycle.HandleRejected and one
//     retry;
//  5. retries: transient exchange failures (5xx, 429, timeouts) are retried with
//     backoff within the request, keeping the credential;
//  6. error mapping: exchange refusals become clear envelope errors without upstream text;
//  7. audit: one entry per use of a tokenId (successes and failures), whoever called;
//  8. transfers: one idempotency ledger and one derivation of the key sent to the
//     exchange, so a transfer executes at most once whichever surface asked for it.
//
// The Service knows nothing of HTTP: handlers decode, call, and encode.
package account

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/vault"
)

// Vault resolves tokenIds into usable credentials (implemented by *vault.Service).
type Vault interface {
	// Resolve may answer from a short-lived cache (reads).
	Resolve(ctx context.Context, clientID, tokenID string) (*vault.Resolved, error)
	// ResolveFresh always reads the database (writes: a connection removed or flagged
	// on another replica must not move money).
	ResolveFresh(ctx context.Context, clientID, tokenID string) (*vault.Resolved, error)
	MarkReauthRequired(ctx context.Context, c *linkvault.Connection, reason string) error
	// Remove deletes the connection for good and has its grant revoked at the
	// exchange (at once or by the revocation queue), returning the revocation state;
	// ErrTokenNotFound when it is not the client's.
	Remove(ctx context.Context, clientID, tokenID string, broker linkvault.BrokerType) (vault.Removed, error)
}

// Lifecycle keeps resolved credentials usable (implemented by the refresh engine).
type Lifecycle interface {
	// EnsureFresh returns r unchanged when its credential is usable, or refreshes it
	// first (once per connection across concurrent callers and replicas).
	EnsureFresh(ctx context.Context, r *vault.Resolved) (*vault.Resolved, error)
	// HandleRejected is called when the exchange refused r's credential. It returns a
	// credential worth one retry, or marks the connection re-auth-required and returns
	// linkvault.ErrReauthRequired().
	HandleRejected(ctx context.Context, r *vault.Resolved, cause error) (*vault.Resolved, error)
}

// AuditRecorder receives audit entries; Record must not block for long
// (*audit.Recorder in production).
type AuditRecorder interface {
	Record(ctx context.Context, e linkvault.AuditEntry)
}

// TransferStore keeps the idempotency ledger of managed transfers (implemented by the
// stores; see audit.TransferStore for the contract).
type TransferStore interface {
	ClaimTransfer(ctx context.Context, t *linkvault.TransferRecord, staleBefore time.Time) (*linkvault.TransferRecord, bool, error)
	FinishTransfer(ctx context.Context, t *linkvault.TransferRecord) error
	GetTransfer(ctx context.Context, clientID, clientTransactionID string) (*linkvault.TransferRecord, error)
}

// PreviewStore keeps managed-transfer previews (implemented by the stores).
type PreviewStore interface {
	// CreateTransferPreview inserts p; conflict if its id exists.
	CreateTransferPreview(ctx context.Context, p *linkvault.TransferPreviewRecord) error
	// GetTransferPreview returns the client's preview; notFound when it does not exist
	// or is another client's (the same answer).
	GetTransferPreview(ctx context.Context, clientID, id string) (*linkvault.TransferPreviewRecord, error)
	// DeleteTransferPreviews deletes previews that expired before before.
	DeleteTransferPreviews(ctx context.Context, before time.Time) (int64, error)
	// ListCompletedTransfers returns a page of the client's completed transfers (ledger
	// records), newest first, and how many there are in all.
	ListCompletedTransfers(ctx context.Context, clientID string, limit, offset int) ([]*linkvault.TransferRecord, int, error)
}

// RetryPolicy retries transient provider failures (5xx, 429, timeouts) within a
// request, with exponential backoff and jitter. The credential is kept and the
// connection is never marked for re-authentication because of them.
type RetryPolicy struct {
	// Attempts is the number of provider calls per request, the first included
	// (default 3; 1 disables retries).
	Attempts int
	// Base is the first backoff (default 200ms); it doubles per retry.
	Base time.Duration
	// Max caps one wait (default 2s). A provider's Retry-After longer than Max ends
	// the retries: the caller gets it as the error's RetryAfter instead.
	Max time.Duration
}

// Config configures a Service.
type Config struct {
	Vault     Vault
	Providers linkvault.Providers
	// Lifecycle is optional: nil uses stored credentials as they are and marks a
	// refused one re-auth-required at once.
	Lifecycle Lifecycle
	// Audit is optional: nil records nothing.
	Audit AuditRecorder
	// Transfers is the idempotency ledger and Previews the stored previews; without
	// both, transfers answer an error (a transfer without a ledger could pay twice).
	Transfers TransferStore
	Previews  PreviewStore
	// PreviewTTL is how long a preview may be executed (default DefaultPreviewTTL).
	PreviewTTL time.Duration
	Retry      RetryPolicy
	// TransferStaleAfter is how long an executing ledger record may go without an
	// answer before another request presumes its owner dead and takes it over (the
	// exchange deduplicates by idempotency key, so a takeover cannot pay twice). The
	// provider calls of one execute are bounded to half of it. Default 2 minutes.
	TransferStaleAfter time.Duration
	// HealthTTL is how long Status reuses its reachability probes (default 30s).
	HealthTTL time.Duration
	// StatusCode is the HTTP status a caller receives for an outcome (nil: success),
	// recorded in the audit entry. Default: 200 for success, 500 otherwise; the HTTP
	// layer passes its one status table.
	StatusCode func(err error) int
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service is the account-use service. It is safe for concurrent use.
type Service struct {
	vault      Vault
	providers  linkvault.Providers
	lifecycle  Lifecycle
	audit      AuditRecorder
	transfers  TransferStore
	previews   PreviewStore
	previewTTL time.Duration
	sweeps     atomic.Uint64
	retry      RetryPolicy
	staleAfter time.Duration
	statusCode func(error) int
	now        func() time.Time
	log        *slog.Logger
	health     *healthTracker
	catalog    *Catalog
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Vault == nil {
		return nil, fmt.Errorf("account: Vault is required")
	}
	if cfg.Providers == nil {
		cfg.Providers = noProviders{}
	}
	if cfg.Retry.Attempts <= 0 {
		cfg.Retry.Attempts = 3
	}
	if cfg.Retry.Base <= 0 {
		cfg.Retry.Base = 200 * time.Millisecond
	}
	if cfg.Retry.Max <= 0 {
		cfg.Retry.Max = 2 * time.Second
	}
	if cfg.TransferStaleAfter <= 0 {
		cfg.TransferStaleAfter = 2 * time.Minute
	}
	if cfg.PreviewTTL <= 0 {
		cfg.PreviewTTL = DefaultPreviewTTL
	}
	if cfg.HealthTTL <= 0 {
		cfg.HealthTTL = 30 * time.Second
	}
	if cfg.StatusCode == nil {
		cfg.StatusCode = defaultStatusCode
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		vault: cfg.Vault, providers: cfg.Providers, lifecycle: cfg.Lifecycle, audit: cfg.Audit,
		transfers: cfg.Transfers, previews: cfg.Previews, previewTTL: cfg.PreviewTTL, retry: cfg.Retry, staleAfter: cfg.TransferStaleAfter,
		statusCode: cfg.StatusCode, now: cfg.Now, log: cfg.Logger,
		health:  newHealthTracker(cfg.Providers, cfg.Now, cfg.HealthTTL, cfg.Logger),
		catalog: buildCatalog(cfg.Providers),
	}, nil
}

func defaultStatusCode(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return http.StatusInternalServerError
}

// Caller is who uses a tokenId.
type Caller struct {
	ClientID string
	// KeyID is the API key that made the call, or KeyLinkPage for the Link page.
	KeyID string
	// Permission is the API key's permission (for the Link page: the permission of
	// the key that opened the session).
	Permission linkvault.Permission
	// UserID is set for the Link page: only the connections of this user, made with
	// exactly Permission as their scope, can be used; any other tokenId is not found.
	UserID string
}

// KeyLinkPage is the KeyID recorded in the audit log for uses made from a Link page
// (no API key is presented there; the page secret stands for the session).
const KeyLinkPage = "link-page"

// Target names the connection a call uses.
type Target struct {
	TokenID string
	// Broker is the brokerType the caller states (REST: the request's type); empty
	// when it states none (the Link page).
	Broker linkvault.BrokerType
}

// Connection is the resolved connection a call used, as reported back to callers.
type Connection struct {
	TokenID     string
	Broker      linkvault.BrokerType
	Accounts    []linkvault.Account
	Integration linkvault.Integration
}

func connectionOf(c *conn) Connection {
	rc := c.res.Connection
	return Connection{TokenID: rc.TokenID, Broker: rc.BrokerType, Accounts: rc.Accounts, Integration: c.provider.Integration()}
}

// noProviders is the catalog of a service configured without integrations.
type noProviders struct{}

func (noProviders) Provider(linkvault.BrokerType) (linkvault.Provider, bool) { return nil, false }
func (noProviders) List() []linkvault.Provider                               { return nil }
