// Package revocation works the durable revocation queue: credentials whose exchange
// grant must still be revoked because their connection was removed or a reconnect
// replaced them.
//
// The vault writes a queue entry (the credential sealed again for the queue, see
// linkvault.PendingRevocation) in the same database transaction as the removal or
// replacement, already leased to its own process, and then calls Try at once. When the
// exchange confirms (or refuses for good), the entry is deleted with its
// connection.revoked event in one transaction; when it does not answer, the entry
// waits with capped exponential backoff. Queue workers on every replica claim due
// entries with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, the single writer on
// SQLite), so an entry survives restarts and crashes (its lease lapses) and is retried
// by whichever replica is up, until the exchange confirms or refuses.
package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
)

// Store is the queue in the database.
type Store interface {
	// ClaimRevocations leases up to limit due entries under a lease string unique to
	// the claim (returned in LeaseOwner) that starts with owner.
	ClaimRevocations(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]linkvault.PendingRevocation, error)
	// FinishRevocation deletes the entry and writes events in one transaction if it
	// is still leased under lease; conflict otherwise.
	FinishRevocation(ctx context.Context, id, lease string, events ...linkvault.Event) error
	// RetryRevocation records a failed attempt and releases the lease; conflict if the
	// lease was lost.
	RetryRevocation(ctx context.Context, id, lease string, attempts int, next time.Time, lastError string) error
	// CountRevocations returns the entries held and those due at now.
	CountRevocations(ctx context.Context, now time.Time) (total, due int64, err error)
}

// Revoker revokes a credential at its exchange (the provider registry).
type Revoker interface {
	Revoke(ctx context.Context, broker linkvault.BrokerType, c linkvault.Credential) error
}

// Opener decrypts a queue entry's credential (the envelope keyring).
type Opener interface {
	Open(ctx context.Context, clientID, tokenID string, keyVersion int, ciphertext []byte) ([]byte, error)
}

// Config configures a Queue. Zero fields take the defaults given with each.
type Config struct {
	// QueueConfig: the lease owner, polling, workers, lease, write timeout, retry
	// schedule, clock and logger. Defaults: poll every 5s, batches of 20, 4 workers
	// (revocations at once), lease 1m, write timeout 5s, backoff 5s to 5m. Retries
	// never stop while the exchange answers transient errors.
	poller.QueueConfig
	// Timeout bounds one call to the exchange. Default 10s.
	Timeout time.Duration
}

// queueDefaults are the defaults of Config's QueueConfig.
var queueDefaults = poller.QueueConfig{
	PollInterval: 5 * time.Second, BatchSize: 20, Workers: 4, LeaseDuration: time.Minute,
	WriteTimeout: 5 * time.Second, BackoffBase: 5 * time.Second, BackoffMax: 5 * time.Minute,
}

func (c Config) withDefaults() Config {
	c.QueueConfig = c.QueueConfig.WithDefaults(queueDefaults)
	poller.Default(&c.Timeout, 10*time.Second)
	return c
}

// Validate reports inconsistent settings of a defaulted Config.
func (c Config) Validate() error {
	errs := append(c.Check(c.Timeout), poller.CheckLease(c.LeaseDuration, c.Timeout, "timeout", c.WriteTimeout))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("revocation: invalid config: %w", err)
	}
	return nil
}

// Deps are the Queue's collaborators.
type Deps struct {
	Store   Store
	Opener  Opener
	Revoker Revoker
	// Registerer receives the metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
}

// Queue tries revocations and works the queue. Start runs its workers in the
// background; Try works without them.
type Queue struct {
	cfg     Config
	store   Store
	opener  Opener
	revoker Revoker
	m       *metrics
	log     *slog.Logger
	loop    *poller.Poller[linkvault.PendingRevocation]
}

// New returns a stopped Queue; it validates cfg (after defaults) and registers the
// metrics.
func New(cfg Config, d Deps) (*Queue, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Opener == nil || d.Revoker == nil {
		return nil, errors.New("revocation: Store, Opener and Revoker are required")
	}
	q := &Queue{cfg: cfg, store: d.Store, opener: d.Opener, revoker: d.Revoker,
		log: cfg.Logger.With("component", "revocation", "owner", cfg.Owner)}
	var err error
	if q.m, err = newMetrics(d.Registerer, d.Store, cfg.Now); err != nil {
		return nil, err
	}
	q.loop = poller.New(cfg.Poller("revocation", q.log), q.claim, q.work)
	return q, nil
}

// Start runs the queue workers until Stop is called or ctx ends.
func (q *Queue) Start(ctx context.Context) error { return q.loop.Start(ctx) }

// Stop stops polling and waits for the revocations in flight (their entries stay
// leased until the lease lapses if ctx ends first).
func (q *Queue) Stop(ctx context.Context) error { return q.loop.Stop(ctx) }

// Check reports failing polls, for a readiness probe.
func (q *Queue) Check(ctx context.Context) error { return q.loop.Check(ctx) }

// Lease returns the lease under which a caller that writes a new entry and calls Try
// right after holds it: this queue's owner plus a random suffix, until now plus the
// lease duration. If the process dies before Try records an outcome, the lease lapses
// and a worker takes the entry over.
func (q *Queue) Lease(now time.Time) (owner string, until time.Time) {
	return q.cfg.Owner + "/" + linkvault.NewRandomID(9), now.Add(q.cfg.LeaseDuration)
}

func (q *Queue) claim(ctx context.Context, now time.Time, limit int) ([]linkvault.PendingRevocation, error) {
	return q.store.ClaimRevocations(ctx, now, q.cfg.Owner, now.Add(q.cfg.LeaseDuration), limit)
}

// work opens a claimed entry's credential and tries it.
func (q *Queue) work(ctx context.Context, r linkvault.PendingRevocation) {
	plain, err := q.opener.Open(ctx, r.ClientID, r.SealID(), r.KeyVersion, r.Sealed)
	var cred linkvault.Credential
	if err == nil {
		cred, err = linkvault.DecodeCredential(plain)
		clear(plain)
	}
	if err != nil {
		// Without the credential there is nothing to present to the exchange: the
		// entry is finished as unreadable (logged without secrets, counted, and told
		// to the app for a removal).
		q.log.Error("revocation: queued credential cannot be decrypted; the grant stays live at the exchange until it expires or the user revokes it",
			"broker", r.BrokerType, "client", r.ClientID, "reason", r.Reason, "key_version", r.KeyVersion, "error_type", linkvault.ErrorType(err))
		q.finish(ctx, r, linkvault.RevocationUnreadable)
		return
	}
	q.Try(ctx, r, cred)
}

// Try revokes r's credential cred at the exchange and records the outcome under r's
// lease: revoked or refused deletes the entry (with a connection.revoked event for a
// removal), a transient failure schedules the next attempt. It returns the state.
func (q *Queue) Try(ctx context.Context, r linkvault.PendingRevocation, cred linkvault.Credential) linkvault.RevocationState {
	cctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	err := q.revoker.Revoke(cctx, r.BrokerType, cred)
	cancel()
	q.m.attempts.WithLabelValues(string(r.BrokerType)).Inc()
	var pe *linkvault.ProviderError
	switch {
	case err == nil:
		return q.finish(ctx, r, linkvault.RevocationRevoked)
	case errors.As(err, &pe) && pe.Kind != linkvault.ProviderTransient:
		q.log.Warn("revocation: the exchange refused the revocation for good", "broker", r.BrokerType,
			"reason", r.Reason, "error_kind", pe.Kind.String(), "code", pe.Code, "status", pe.StatusCode)
		return q.finish(ctx, r, linkvault.RevocationRefused)
	}
	// No answer, or a transient one: try again later.
	attempts := r.Attempts + 1
	var retryAfter time.Duration
	code := "transient"
	if pe != nil {
		retryAfter, code = pe.RetryAfter, pe.Code
	} else if ctx.Err() != nil {
		code = "cancelled"
	}
	next := q.cfg.Now().Add(poller.Backoff(attempts, q.cfg.BackoffBase, q.cfg.BackoffMax, retryAfter, rand.Float64()))
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), q.cfg.WriteTimeout)
	defer wcancel()
	if err := q.store.RetryRevocation(wctx, r.ID, r.LeaseOwner, attempts, next, code); err != nil {
		q.recordError("retry", err)
		return linkvault.RevocationPending
	}
	q.m.outcomes.WithLabelValues(string(r.BrokerType), r.Reason, string(linkvault.RevocationPending)).Inc()
	q.log.Info("revocation: the exchange did not confirm; retrying later", "broker", r.BrokerType,
		"reason", r.Reason, "attempt", attempts, "code", code, "next_attempt_in", next.Sub(q.cfg.Now()).Round(time.Millisecond))
	return linkvault.RevocationPending
}

// finish deletes the entry with its final state and, for a removal, the
// connection.revoked event.
func (q *Queue) finish(ctx context.Context, r linkvault.PendingRevocation, state linkvault.RevocationState) linkvault.RevocationState {
	var events []linkvault.Event
	if r.Reason == linkvault.RevocationReasonRemoved {
		events = append(events, RevokedEvent(r.ClientID, r.TokenID, r.BrokerType, state, q.cfg.Now()))
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.cfg.WriteTimeout)
	defer cancel()
	if err := q.store.FinishRevocation(wctx, r.ID, r.LeaseOwner, events...); err != nil {
		q.recordError("finish", err)
		if state == linkvault.RevocationRevoked {
			// The exchange revoked it; the entry is tried again (harmlessly: RFC 7009
			// answers 200 for a revoked token) once the lease lapses.
			return state
		}
		return linkvault.RevocationPending
	}
	q.Observe(r.BrokerType, r.Reason, state)
	if !r.CreatedAt.IsZero() {
		q.m.latency.WithLabelValues(r.Reason).Observe(q.cfg.Now().Sub(r.CreatedAt).Seconds())
	}
	return state
}

// Observe counts a final state reached outside the queue (unsupported, unreadable at
// removal time) or inside it.
func (q *Queue) Observe(broker linkvault.BrokerType, reason string, state linkvault.RevocationState) {
	q.m.outcomes.WithLabelValues(string(broker), reason, string(state)).Inc()
}

func (q *Queue) recordError(op string, err error) {
	if linkvault.IsConflict(err) {
		q.m.outcomes.WithLabelValues("", "", "lease_lost").Inc()
		q.log.Warn("revocation: lease lost before the outcome was recorded; another worker will try the entry", "op", op)
		return
	}
	q.m.outcomes.WithLabelValues("", "", "error").Inc()
	q.log.Error("revocation: cannot record the outcome; the entry is tried again when its lease lapses", "op", op, "error", err)
}

// RevokedEvent is the connection.revoked event of a removed connection whose
// revocation reached the final state (or, at removal, started pending).
func RevokedEvent(clientID, tokenID string, broker linkvault.BrokerType, state linkvault.RevocationState, now time.Time) linkvault.Event {
	raw, err := json.Marshal(map[string]any{
		"tokenId": tokenID, "brokerType": broker, "details": map[string]string{"revocation": string(state)},
	})
	if err != nil {
		panic("revocation: marshal event: " + err.Error()) // strings only; cannot fail
	}
	return linkvault.Event{
		ID: "evt_" + linkvault.NewRandomID(16), ClientID: clientID, Type: linkvault.EventConnectionRevoked,
		TokenID: tokenID, Data: raw, CreatedAt: now,
	}
}
