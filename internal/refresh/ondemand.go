package refresh

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/vault"
)

// On-demand renewal: the API handlers call EnsureFresh before a provider call and
// HandleRejected when the provider refused the credential (internal/http.Lifecycle).

// On-demand outcome labels.
const (
	onDemandOK          = "ok"          // renewed by this call
	onDemandStored      = "stored"      // another worker had renewed it: its result was used
	onDemandReauth      = "reauth"      // marked (or found) re-auth-required
	onDemandUnavailable = "unavailable" // transient failures outlasted the retries
	onDemandBusy        = "busy"        // every slot (Config.Workers) stayed taken for a lease duration
	onDemandError       = "error"
)

// EnsureFresh returns r unchanged when its credential is usable for at least
// ExpirySkew (SessionExpirySkew for a session that cannot be refreshed), and otherwise
// renews it: once per connection across concurrent callers in
// this process (single-flight) and across replicas (a lease on the row). The renewed
// credential is returned only after it was committed. A connection that needs the user
// yields linkvault.ErrReauthRequired(); transient provider failures that outlast the
// in-request retries yield linkvault.ErrProviderUnavailable.
func (e *Engine) EnsureFresh(ctx context.Context, r *vault.Resolved) (*vault.Resolved, error) {
	if r.Connection.Status == linkvault.StatusReauthRequired {
		return nil, linkvault.ErrReauthRequired()
	}
	if !e.expired(r.Credential) {
		return r, nil
	}
	return e.renewShared(ctx, r, false)
}

// expired reports whether cred must be renewed (or, for a session that cannot be
// refreshed, abandoned) before an API call: a refreshable credential ExpirySkew ahead
// of its expiry, a session only SessionExpirySkew ahead.
func (e *Engine) expired(cred linkvault.Credential) bool {
	skew := e.cfg.ExpirySkew
	if !cred.CanRefresh() {
		skew = e.cfg.SessionExpirySkew
	}
	return cred.Expired(e.now(), skew)
}

// HandleRejected is called when the provider refused r's credential. It re-reads the
// connection bypassing caches: if another worker rotated the credential meanwhile, it
// returns the stored one for one retry; otherwise it refreshes a refreshable
// credential, and marks any other one re-auth-required and returns
// linkvault.ErrReauthRequired().
func (e *Engine) HandleRejected(ctx context.Context, r *vault.Resolved, cause error) (*vault.Resolved, error) {
	if r.Connection.Status == linkvault.StatusReauthRequired {
		return nil, linkvault.ErrReauthRequired()
	}
	e.log.InfoContext(ctx, "provider refused a credential during an API call", "broker", r.Connection.BrokerType, "code", providerCode(cause))
	return e.renewShared(ctx, r, true)
}

// renewShared runs one renewal per connection for all concurrent callers in this
// process. The renewal runs detached from the first caller's context (bounded by
// twice the lease: a wait, then the work), so one caller giving up does not fail the others; each caller waits only as
// long as its own context allows.
func (e *Engine) renewShared(ctx context.Context, r *vault.Resolved, rejected bool) (*vault.Resolved, error) {
	key := r.Connection.ClientID + "\x00" + r.Connection.TokenID
	leader := false
	ch := e.flight.DoChan(key, func() (any, error) {
		leader = true
		// Waiting for a slot or another worker's lease ends by LeaseDuration from now,
		// and the work under our own lease takes at most LeaseDuration more.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*e.cfg.LeaseDuration+e.cfg.WriteTimeout)
		defer cancel()
		res, outcome, err := e.renew(rctx, r, rejected)
		e.m.onDemand.WithLabelValues(outcome).Inc()
		return res, err
	})
	select {
	case res := <-ch:
		if !leader {
			e.m.joins.Inc()
		}
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*vault.Resolved), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// renew brings the connection of r to a usable credential. It first reads the row
// (another worker may have renewed it already), then takes the lease, waiting while
// another worker holds it, and renews under the lease.
func (e *Engine) renew(ctx context.Context, r *vault.Resolved, rejected bool) (*vault.Resolved, string, error) {
	clientID, tokenID := r.Connection.ClientID, r.Connection.TokenID
	giveUp := e.now().Add(e.cfg.LeaseDuration)
	pause := 5 * time.Millisecond
	for {
		cur, err := e.store.GetConnection(ctx, clientID, tokenID)
		if err != nil {
			return nil, onDemandError, err
		}
		if res, out, err, done := e.usableStored(ctx, cur, r); done {
			return res, out, err
		}
		now := e.now()
		if cur.LeaseOwner == "" || !now.Before(cur.LeaseExpiresAt) {
			// A slot first (shared with the background loop, Config.Workers), then the
			// lease: the lease's clock starts only when the work can.
			if !e.acquireSlot(ctx, giveUp) {
				if ctx.Err() != nil {
					return nil, onDemandError, ctx.Err()
				}
				return nil, onDemandBusy, linkvault.ErrUnavailable(errBusy)
			}
			now = e.now()
			claimed, err := e.store.ClaimConnection(ctx, clientID, tokenID, e.cfg.Owner, now, now.Add(e.cfg.LeaseDuration))
			if err == nil {
				res, out, err := e.renewClaimed(ctx, claimed, r, rejected)
				e.releaseSlot()
				return res, out, err
			}
			e.releaseSlot()
			if !linkvault.IsConflict(err) {
				return nil, onDemandError, err
			}
		}
		// Another worker (engine or API call, here or on another replica) holds the
		// lease: wait for its result rather than refreshing ourselves.
		e.m.leaseConflicts.WithLabelValues("on_demand").Inc()
		if !e.now().Before(giveUp) {
			return nil, onDemandUnavailable, linkvault.ErrProviderUnavailable(time.Second)
		}
		if err := poller.Sleep(ctx, pause/2+time.Duration(rand.Int64N(int64(pause)))); err != nil {
			return nil, onDemandError, err
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// usableStored decides from a freshly read row whether the caller can be answered
// without a renewal: the connection needs re-authentication, or another worker stored
// a different credential that is usable. done is false when a renewal is needed.
func (e *Engine) usableStored(ctx context.Context, cur *linkvault.Connection, r *vault.Resolved) (res *vault.Resolved, outcome string, err error, done bool) {
	if cur.Status == linkvault.StatusReauthRequired {
		return nil, onDemandReauth, linkvault.ErrReauthRequired(), true
	}
	if bytes.Equal(cur.SealedCredential, r.Connection.SealedCredential) {
		return nil, "", nil, false
	}
	cred, err := e.vault.Open(ctx, cur)
	if err != nil {
		return nil, onDemandError, err, true
	}
	if e.expired(cred) {
		return nil, "", nil, false
	}
	return &vault.Resolved{Connection: cur, Credential: cred}, onDemandStored, nil, true
}

// renewClaimed renews the connection c, whose lease this engine just took (c is the
// row as claimed, fresher than r).
func (e *Engine) renewClaimed(ctx context.Context, c *linkvault.Connection, r *vault.Resolved, rejected bool) (*vault.Resolved, string, error) {
	if c.Status == linkvault.StatusReauthRequired {
		e.release(ctx, c, "release")
		return nil, onDemandReauth, linkvault.ErrReauthRequired()
	}
	cred, err := e.vault.Open(ctx, c)
	if err != nil {
		e.release(ctx, c, "release")
		return nil, onDemandError, err
	}
	changed := !bytes.Equal(c.SealedCredential, r.Connection.SealedCredential)
	if (changed || !rejected) && !e.expired(cred) {
		// Renewed by someone else between our read and our claim.
		if e.release(ctx, c, "release") == OutcomeOK {
			return &vault.Resolved{Connection: c, Credential: cred}, onDemandStored, nil
		}
		return nil, onDemandUnavailable, linkvault.ErrProviderUnavailable(time.Second)
	}
	if !cred.CanRefresh() {
		// An expired session, or a refused credential without a refresh token: only
		// the user can fix it.
		if out := e.markReauth(ctx, c); out != OutcomeReauth && out != OutcomeLeaseLost {
			return nil, onDemandError, errors.New("refresh: cannot mark the connection re-auth-required")
		}
		return nil, onDemandReauth, linkvault.ErrReauthRequired()
	}
	p, ok := e.providers.Provider(c.BrokerType)
	if !ok {
		e.release(ctx, c, "release")
		return nil, onDemandUnavailable, linkvault.ErrProviderUnavailable(0)
	}

	broker := string(c.BrokerType)
	pause := e.cfg.OnDemandBackoff
	for attempt := 1; ; attempt++ {
		callCtx, cancel, ok := e.callBudget(ctx, c)
		if !ok {
			// Only reachable after retries ate the lease: record the failure.
			e.m.refreshes.WithLabelValues(broker, e.transient(ctx, c, nil, e.cfg.BackoffMax)).Inc()
			return nil, onDemandUnavailable, linkvault.ErrProviderUnavailable(time.Second)
		}
		start := time.Now()
		next, err := p.Refresh(callCtx, cred)
		cancel()
		e.m.providerTime.WithLabelValues(broker, "refresh").Observe(time.Since(start).Seconds())
		retryAfter, retry := retryableInRequest(err)
		if retry && attempt < e.cfg.OnDemandAttempts {
			wait := max(pause, retryAfter)
			// Retry only if the pause still leaves a full call within the lease.
			if e.now().Add(wait + e.cfg.ProviderTimeout + e.cfg.WriteTimeout).Before(c.LeaseExpiresAt) {
				if err := poller.Sleep(ctx, wait); err == nil {
					pause *= 2
					continue
				}
			}
		}
		out := e.afterRefresh(ctx, c, next, err, "on_demand")
		e.m.refreshes.WithLabelValues(broker, out).Inc()
		switch out {
		case OutcomeOK:
			return &vault.Resolved{Connection: c, Credential: next}, onDemandOK, nil
		case OutcomeReauth:
			return nil, onDemandReauth, linkvault.ErrReauthRequired()
		case OutcomeTransient:
			return nil, onDemandUnavailable, linkvault.ErrProviderUnavailable(max(retryAfter, time.Second))
		default:
			// lease_lost or a local error: the new tokens (if any) were not stored, so
			// they must not be used.
			return nil, onDemandUnavailable, linkvault.ErrProviderUnavailable(time.Second)
		}
	}
}

// retryableInRequest reports whether a failed refresh may be retried at once within
// the API request: only answers proving the provider did not process it (429, 5xx,
// connection refused). A timeout or a cut connection may hide a rotation that did
// happen, and a retry would then replay the spent refresh token.
func retryableInRequest(err error) (retryAfter time.Duration, ok bool) {
	var pe *linkvault.ProviderError
	if err == nil || !errors.As(err, &pe) || pe.Kind != linkvault.ProviderTransient {
		return 0, false
	}
	switch {
	case pe.StatusCode == 429, pe.StatusCode >= 500, pe.Code == "connection_refused":
		return pe.RetryAfter, true
	}
	return 0, false
}

// errBusy is why an API call that waited a lease duration for a slot gives up (a 503
// with Retry-After: linkvault.ErrUnavailable).
var errBusy = errors.New("refresh: every slot (Workers) stayed busy for a lease duration")

// acquireSlot takes one of the process's Workers slots, waiting until until at the
// latest; it reports whether it got one (then releaseSlot must follow).
func (e *Engine) acquireSlot(ctx context.Context, until time.Time) bool {
	select {
	case e.slots <- struct{}{}:
		return true
	default:
	}
	wait := until.Sub(e.now())
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case e.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (e *Engine) releaseSlot() { <-e.slots }
