// Package refresh is the credential lifecycle engine. It keeps every connection's
// credential usable without the user:
//
//   - Refreshable credentials (Coinbase-like OAuth with rotating refresh tokens) are
//     renewed ahead of expiry, with jitter so connections created together do not come
//     due together.
//   - Credentials without expiry (Uphold-like) are validated periodically with a cheap
//     provider call.
//   - Expiring sessions that cannot be refreshed (Binance-like) get an expiry warning
//     webhook ahead of time and are marked re-auth-required when they expire.
//   - API calls that find an expired or refused credential renew it on demand
//     (EnsureFresh, HandleRejected: the internal/http.Lifecycle interface).
//
// A provider's permanent refusal marks the connection re-auth-required (same tokenId,
// webhook event); transient failures (5xx, 429, timeouts) keep the credential and retry
// with exponential backoff.
//
// # One refresh per refresh token
//
// Rotating refresh tokens are single-use: presenting one twice is a replay, and the
// provider revokes the whole grant (RFC 9700 reuse detection). So at most one worker in
// the whole deployment may hold a connection's refresh token in flight:
//
//   - Across processes and replicas, a worker first takes a committed lease on the row
//     (ClaimDueConnections for the due set, ClaimConnection on demand; FOR UPDATE SKIP
//     LOCKED on PostgreSQL). The lease outlasts the provider call plus the write-back
//     (Config.Validate enforces LeaseDuration > ProviderTimeout + WriteTimeout), and a
//     worker never starts a provider call it could not finish within its lease.
//   - Each claim bumps the row's version; the write-back is a compare-and-swap on that
//     version, so a worker whose lease was taken over can never overwrite the newer
//     state (fencing). It logs, counts lease_lost, and writes nothing.
//   - Within a process, concurrent API calls on one connection share one renewal
//     (golang.org/x/sync/singleflight); API calls that find another worker's lease wait
//     for its result instead of refreshing themselves.
//   - The rotated refresh token is committed to the database before the new access
//     token is returned to any caller or used.
//
// # The crash window
//
// Between the provider's answer (the old refresh token is now spent) and the commit of
// the new one, a crash (kill -9, power loss, a network partition from the database)
// loses the new tokens. No protocol can close this window: the provider has no
// idempotent "refresh again" call. What happens then is safe and visible: the lease
// lapses, another worker claims the row and presents the old refresh token, the
// provider detects the reuse and revokes the grant, the refresh fails with
// invalid_grant, and the connection is marked re-auth-required with a webhook event.
// The tokenId is unchanged and the user reconnects through Link. The window is bounded:
// a process holds at most Config.Workers connections under a lease at once, the
// background loop and API-triggered renewals together (one semaphore), so a crash costs
// at most Workers grants; and a write-back waits as long as its lease lasts, so a
// database stall shorter than that costs none. The row is never lost
// and never holds a credential mixed from two grants. The same holds when a refresh
// times out after the provider processed it; that is why only answers that prove the
// request was not processed (429, 5xx, connection refused) are retried within a
// request. docs/lifecycle.md has the full state machine.
package refresh

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/vault"
)

// Store is what the engine needs from the database.
type Store interface {
	// ClaimDueConnections leases due rows (see linkvault.ConnectionStore).
	ClaimDueConnections(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]*linkvault.Connection, error)
	// ClaimConnection leases one row unless a live lease holds it (conflict).
	ClaimConnection(ctx context.Context, clientID, tokenID, owner string, now, leaseUntil time.Time) (*linkvault.Connection, error)
	// GetConnection reads a row, bypassing every cache.
	GetConnection(ctx context.Context, clientID, tokenID string) (*linkvault.Connection, error)
	// CountDueConnections counts rows due at now (for the due-set gauge).
	CountDueConnections(ctx context.Context, now time.Time) (int64, error)
}

// Vault is what the engine needs from the vault service (*vault.Service).
type Vault interface {
	Open(ctx context.Context, c *linkvault.Connection) (linkvault.Credential, error)
	// Update writes c (version-checked) with its events and drops it from the cache.
	Update(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error
	MarkReauthRequired(ctx context.Context, c *linkvault.Connection, reason string) error
	Event(c *linkvault.Connection, typ string, data any) linkvault.Event
	Policy() vault.Policy
}

// Deps are the engine's collaborators.
type Deps struct {
	Store     Store
	Vault     Vault
	Sealer    linkvault.CredentialSealer // seals renewed credentials (the vault's sealer)
	Providers linkvault.Providers
	// Registerer receives the engine's metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
}

// Engine is the lifecycle engine. Start runs the background loop; EnsureFresh and
// HandleRejected serve API calls whether or not the loop runs (a replica with the
// engine disabled still renews on demand). It is safe for concurrent use.
type Engine struct {
	cfg       Config
	store     Store
	vault     Vault
	sealer    linkvault.CredentialSealer
	providers linkvault.Providers
	m         *metrics
	log       *slog.Logger
	now       func() time.Time

	flight singleflight.Group
	loop   *poller.Poller[*linkvault.Connection] // the background claim-and-refresh loop
	// slots bounds the connections this process works on at once, background and on
	// demand together (capacity Workers): one element per connection held under a lease
	// between its claim and its write-back. The crash window's bound rests on it.
	slots chan struct{}
}

// New returns an engine; it validates cfg (after defaults) and registers the metrics.
func New(cfg Config, d Deps) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Vault == nil || d.Sealer == nil || d.Providers == nil {
		return nil, errors.New("refresh: Store, Vault, Sealer and Providers are required")
	}
	e := &Engine{
		cfg: cfg, store: d.Store, vault: d.Vault, sealer: d.Sealer, providers: d.Providers,
		log: cfg.Logger.With("component", "refresh", "owner", cfg.Owner), now: cfg.Now,
	}
	e.slots = make(chan struct{}, cfg.Workers)
	due := poller.NewSampled(d.Store.CountDueConnections, cfg.Now)
	m, err := newMetrics(d.Registerer, func() float64 { return float64(due.Value()) }, func() float64 { return float64(len(e.slots)) })
	if err != nil {
		return nil, err
	}
	e.m = m
	e.loop = poller.New(poller.Config{
		Name: "refresh", PollInterval: cfg.PollInterval, BatchSize: cfg.BatchSize, Workers: cfg.Workers,
		// Half a round of work claimed ahead: workers that finish go on with those
		// instead of waiting for the next claim; callBudget refuses an item whose lease
		// no longer covers the call and its write-back.
		Prefetch: cfg.Workers / 2,
		Slots:    e.slots, Now: cfg.Now, Logger: e.log,
	}, e.claim, e.process)
	return e, nil
}

// Owner returns the lease owner name of this engine.
func (e *Engine) Owner() string { return e.cfg.Owner }

// Start runs the poll loop in the background until Stop is called or ctx ends. ctx
// also carries values to the workers; cancelling it stops the loop but lets claimed
// connections finish (their provider calls and write-backs are bounded by the timeouts).
func (e *Engine) Start(ctx context.Context) error {
	if err := e.loop.Start(ctx); err != nil {
		return err
	}
	e.log.Info("refresh engine started", "workers", e.cfg.Workers, "batch", e.cfg.BatchSize,
		"lease", e.cfg.LeaseDuration, "provider_timeout", e.cfg.ProviderTimeout)
	return nil
}

// Stop stops polling and waits for in-flight connections to finish. If ctx ends
// first, in-flight provider calls are cancelled (write-backs of answers already
// received still run, bounded by their leases) and ctx's error is returned.
func (e *Engine) Stop(ctx context.Context) error {
	if err := e.loop.Stop(ctx); err != nil {
		return err
	}
	e.log.Info("refresh engine stopped")
	return nil
}

// Check reports whether the engine is healthy, for a readiness probe: an error when
// polls have been failing for longer than ten poll intervals (at least 30s). An
// engine that was never started is healthy (on-demand renewal needs no loop).
func (e *Engine) Check(ctx context.Context) error { return e.loop.Check(ctx) }

// claim leases up to limit due connections for this engine's workers (the poller asks
// for its idle workers plus at most Workers/2 rows that wait for the next free worker;
// callBudget refuses a row whose lease no longer covers its call).
func (e *Engine) claim(ctx context.Context, now time.Time, limit int) ([]*linkvault.Connection, error) {
	rows, err := e.store.ClaimDueConnections(ctx, now, e.cfg.Owner, now.Add(e.cfg.LeaseDuration), limit)
	if err != nil {
		e.m.polls.WithLabelValues("error").Inc()
		return nil, err
	}
	e.m.polls.WithLabelValues("ok").Inc()
	e.m.claimed.Observe(float64(len(rows)))
	return rows, nil
}
