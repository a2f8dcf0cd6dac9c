package refresh

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
)

// process handles one connection claimed from the due set. c holds the lease (its
// Version is the claimed one); every path ends with one version-checked write that
// releases the lease, or with no write when the lease was lost.
func (e *Engine) process(ctx context.Context, c *linkvault.Connection) {
	broker := string(c.BrokerType)
	if c.Status != linkvault.StatusActive {
		// Not ours to check (a re-auth-required row has no schedule); drop it from
		// the due set.
		c.NextCheckAt = time.Time{}
		e.release(ctx, c, "unschedule")
		return
	}
	cred, err := e.vault.Open(ctx, c)
	if err != nil {
		// Our problem (a data key or master key missing), not the user's: keep the
		// credential, look again much later, alert through logs and metrics.
		e.log.ErrorContext(ctx, "cannot open a stored credential", "broker", broker, "error_type", linkvault.ErrorType(err))
		e.m.refreshes.WithLabelValues(broker, OutcomeError).Inc()
		e.reschedule(ctx, c, linkvault.ErrTypeInternal, e.cfg.BackoffMax, 0, e.cfg.BackoffMax)
		return
	}
	p, ok := e.providers.Provider(c.BrokerType)
	if !ok {
		e.log.WarnContext(ctx, "no provider configured for a stored connection", "broker", broker)
		e.m.refreshes.WithLabelValues(broker, OutcomeError).Inc()
		e.reschedule(ctx, c, linkvault.ErrTypeProviderFailure, e.cfg.BackoffMax, 0, e.cfg.BackoffMax)
		return
	}
	switch {
	case cred.Expiry.IsZero():
		e.validate(ctx, c, cred, p)
	case cred.CanRefresh():
		e.refresh(ctx, c, cred, p)
	default:
		e.checkSession(ctx, c, cred)
	}
}

// callBudget returns the context for one provider call on the leased c, or false when
// the lease no longer covers a full call plus the write-back (the worker was delayed;
// it leaves the row to lapse rather than risk two holders of one refresh token).
func (e *Engine) callBudget(ctx context.Context, c *linkvault.Connection) (context.Context, context.CancelFunc, bool) {
	left := c.LeaseExpiresAt.Sub(e.now()) - e.cfg.WriteTimeout
	if left < e.cfg.ProviderTimeout {
		return nil, nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ProviderTimeout)
	return ctx, cancel, true
}

// writeContext is the context of a write-back on the leased c: not cancelled by Stop
// (a rotated refresh token must reach the database), and bounded by the end of c's
// lease, or WriteTimeout from now if that is later. A database that stalls for less
// than the rest of the lease delays the write without losing it; until the lease ends
// no other worker can take the row, and after it the write is fenced by the version.
func (e *Engine) writeContext(ctx context.Context, c *linkvault.Connection) (context.Context, context.CancelFunc) {
	deadline := e.now().Add(e.cfg.WriteTimeout)
	if c.LeaseExpiresAt.After(deadline) {
		deadline = c.LeaseExpiresAt
	}
	// The lease is on the engine's clock (Config.Now); the context runs on the real one.
	return context.WithTimeout(context.WithoutCancel(ctx), deadline.Sub(e.now()))
}

func (e *Engine) refresh(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential, p linkvault.Provider) {
	broker := string(c.BrokerType)
	callCtx, cancel, ok := e.callBudget(ctx, c)
	if !ok {
		e.log.WarnContext(ctx, "lease too short to call the provider; leaving the connection to another worker", "broker", broker)
		e.m.refreshes.WithLabelValues(broker, OutcomeLeaseLost).Inc()
		return
	}
	start := time.Now()
	next, err := p.Refresh(callCtx, cred)
	cancel()
	e.m.providerTime.WithLabelValues(broker, "refresh").Observe(time.Since(start).Seconds())
	e.m.refreshes.WithLabelValues(broker, e.afterRefresh(ctx, c, next, err, "engine")).Inc()
}

// afterRefresh writes the result of a refresh of the leased c back and returns the
// outcome label. It is shared by the engine and on-demand renewal.
func (e *Engine) afterRefresh(ctx context.Context, c *linkvault.Connection, next linkvault.Credential, err error, path string) string {
	switch {
	case err == nil:
		return e.saveRenewed(ctx, c, next)
	case linkvault.IsReauthRequired(err):
		e.log.InfoContext(ctx, "provider refused the refresh; connection needs re-authentication",
			"broker", c.BrokerType, "path", path, "code", providerCode(err))
		return e.markReauth(ctx, c)
	default:
		e.log.InfoContext(ctx, "refresh failed transiently; keeping the credential",
			"broker", c.BrokerType, "path", path, "code", providerCode(err), "failures", c.FailureCount+1)
		return e.transient(ctx, c, err, e.cfg.BackoffMax)
	}
}

// saveRenewed seals next into the leased c, schedules its next check, releases the
// lease and writes it, all in one version-checked write.
func (e *Engine) saveRenewed(ctx context.Context, c *linkvault.Connection, next linkvault.Credential) string {
	wctx, cancel := e.writeContext(ctx, c)
	defer cancel()
	sealed, keyVersion, err := e.sealer.SealCredential(wctx, c, next)
	if err != nil {
		// The provider rotated and we cannot store the result: this is the crash
		// window without the crash. The lease lapses; see the package doc.
		e.log.ErrorContext(ctx, "cannot seal a renewed credential; the rotated tokens are lost", "broker", c.BrokerType, "error_type", linkvault.ErrorType(err))
		return OutcomeError
	}
	now := e.now()
	c.SealedCredential, c.KeyVersion = sealed, keyVersion
	c.AccessExpiresAt, c.RefreshExpiresAt = next.Expiry, next.RefreshExpiry
	c.NextCheckAt = e.scheduleFor(now, next)
	c.FailureCount, c.LastError = 0, ""
	c.LeaseOwner, c.LeaseExpiresAt = "", time.Time{}
	return e.write(wctx, c, "renewed")
}

// scheduleFor is the next check of a connection holding cred, with jitter.
func (e *Engine) scheduleFor(now time.Time, cred linkvault.Credential) time.Time {
	pol := e.vault.Policy()
	switch {
	case cred.Expiry.IsZero():
		return nextValidation(now, pol, e.cfg.Jitter, rand.Float64())
	case cred.CanRefresh():
		return nextRefresh(now, cred, pol, e.cfg.Jitter, rand.Float64(), e.cfg.BackoffBase)
	default:
		return pol.NextCheck(now, cred)
	}
}

// write stores the leased c and maps the result to an outcome label. A database that
// does not answer (linkvault.ErrUnavailable: a cut connection, a failover) is retried
// until ctx ends; the write is version-checked, so a retry never overwrites newer state.
func (e *Engine) write(ctx context.Context, c *linkvault.Connection, what string, events ...linkvault.Event) string {
	err := retryUnavailable(ctx, func() error { return e.vault.Update(ctx, c, events...) })
	switch {
	case err == nil:
		return OutcomeOK
	case linkvault.IsConflict(err):
		e.m.leaseConflicts.WithLabelValues("write_back").Inc()
		e.log.WarnContext(ctx, "lease lost before the write-back; nothing written", "broker", c.BrokerType, "write", what)
		return OutcomeLeaseLost
	case linkvault.IsNotFound(err):
		e.log.InfoContext(ctx, "connection removed while it was being processed", "broker", c.BrokerType, "write", what)
		return OutcomeLeaseLost
	default:
		e.log.ErrorContext(ctx, "write-back failed", "broker", c.BrokerType, "write", what, "error", err)
		return OutcomeError
	}
}

// markReauth marks the leased c re-auth-required (releasing the lease, emitting the
// event) and returns the outcome label.
func (e *Engine) markReauth(ctx context.Context, c *linkvault.Connection) string {
	wctx, cancel := e.writeContext(ctx, c)
	defer cancel()
	err := retryUnavailable(wctx, func() error { return e.vault.MarkReauthRequired(wctx, c, linkvault.ErrTypeReauthRequired) })
	switch {
	case err == nil:
		return OutcomeReauth
	case linkvault.IsConflict(err), linkvault.IsNotFound(err):
		e.m.leaseConflicts.WithLabelValues("write_back").Inc()
		e.log.WarnContext(ctx, "lease lost before marking re-auth-required; nothing written", "broker", c.BrokerType)
		return OutcomeLeaseLost
	default:
		e.log.ErrorContext(ctx, "cannot mark re-auth-required", "broker", c.BrokerType, "error", err)
		return OutcomeError
	}
}

// transient records a transient failure on the leased c: the credential stays, the
// failure count grows, the next check backs off (at most ceiling, but never before the
// provider's Retry-After up to BackoffMax); the lease is released.
func (e *Engine) transient(ctx context.Context, c *linkvault.Connection, err error, ceiling time.Duration) string {
	var retryAfter time.Duration
	var pe *linkvault.ProviderError
	if errors.As(err, &pe) {
		retryAfter = pe.RetryAfter
	}
	code := linkvault.ErrTypeProviderFailure
	if linkvault.ProviderErrorKindOf(err) == linkvault.ProviderRejected {
		code = linkvault.ErrTypeProviderRejected
	}
	if out := e.reschedule(ctx, c, code, 0, retryAfter, ceiling); out != OutcomeOK {
		return out
	}
	return OutcomeTransient
}

// reschedule counts a failure on the leased c and looks at it again after delay (0:
// exponential backoff on the failure count capped at ceiling, and at least retryAfter
// capped at BackoffMax), releasing the lease.
func (e *Engine) reschedule(ctx context.Context, c *linkvault.Connection, lastError string, delay, retryAfter, ceiling time.Duration) string {
	wctx, cancel := e.writeContext(ctx, c)
	defer cancel()
	c.FailureCount++
	if delay == 0 {
		delay = max(poller.Backoff(c.FailureCount, min(e.cfg.BackoffBase, ceiling), ceiling, 0, rand.Float64()),
			min(retryAfter, e.cfg.BackoffMax))
	}
	c.LastError = lastError
	c.NextCheckAt = e.now().Add(delay)
	c.LeaseOwner, c.LeaseExpiresAt = "", time.Time{}
	return e.write(wctx, c, "reschedule")
}

// release writes c with its lease cleared (other fields as the caller set them).
func (e *Engine) release(ctx context.Context, c *linkvault.Connection, what string, events ...linkvault.Event) string {
	wctx, cancel := e.writeContext(ctx, c)
	defer cancel()
	c.LeaseOwner, c.LeaseExpiresAt = "", time.Time{}
	return e.write(wctx, c, what, events...)
}

// validate checks a credential without expiry (Uphold-like) with a cheap call.
func (e *Engine) validate(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential, p linkvault.Provider) {
	broker := string(c.BrokerType)
	callCtx, cancel, ok := e.callBudget(ctx, c)
	if !ok {
		e.m.validations.WithLabelValues(broker, OutcomeLeaseLost).Inc()
		return
	}
	start := time.Now()
	err := p.Validate(callCtx, cred)
	cancel()
	e.m.providerTime.WithLabelValues(broker, "validate").Observe(time.Since(start).Seconds())
	var out string
	switch {
	case err == nil:
		c.FailureCount, c.LastError = 0, ""
		c.NextCheckAt = e.scheduleFor(e.now(), cred)
		out = e.release(ctx, c, "validated")
	case linkvault.IsReauthRequired(err):
		e.log.InfoContext(ctx, "provider refused the credential on validation; connection needs re-authentication",
			"broker", broker, "code", providerCode(err))
		out = e.markReauth(ctx, c)
	default:
		// Capped at the validation interval: a credential revoked during an outage of
		// the exchange is found no later than one interval after the exchange is back.
		out = e.transient(ctx, c, err, min(e.cfg.BackoffMax, e.vault.Policy().ValidateEvery))
	}
	e.m.validations.WithLabelValues(broker, out).Inc()
}

// checkSession handles an expiring credential that cannot be refreshed (a Binance-like
// session): re-auth-required once it expired; before that, the warning event. A
// session's only scheduled check before its expiry is its warning time (Policy.NextCheck,
// min(WarnAhead, WarnFraction × its life) ahead), so a check that comes before the expiry
// sends the warning, unless it comes from a failure's backoff (then the session is
// rescheduled) or earlier than WarnAhead before the expiry (a schedule made under other
// settings). The warning is written with the move of NextCheckAt to the expiry, in one
// version-checked write, so it is sent once per session.
func (e *Engine) checkSession(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential) {
	now := e.now()
	pol := e.vault.Policy()
	switch {
	case !now.Before(cred.Expiry):
		if e.markReauth(ctx, c) == OutcomeReauth {
			e.m.sessions.WithLabelValues("expired").Inc()
		}
	case c.FailureCount == 0 && !now.Before(cred.Expiry.Add(-pol.WarnAhead)):
		c.NextCheckAt = cred.Expiry
		ev := e.vault.Event(c, linkvault.EventExpiryWarning, map[string]string{
			"expiresAt": cred.Expiry.UTC().Format(time.RFC3339),
		})
		if e.release(ctx, c, "expiry warning", ev) == OutcomeOK {
			e.m.sessions.WithLabelValues("warned").Inc()
		}
	default:
		c.FailureCount, c.LastError = 0, ""
		c.NextCheckAt = pol.NextCheck(now, cred)
		if e.release(ctx, c, "reschedule session") == OutcomeOK {
			e.m.sessions.WithLabelValues("rescheduled").Inc()
		}
	}
}

// retryUnavailable runs f until it returns anything but linkvault.ErrUnavailable or
// ctx ends, pausing 50ms, doubling to 2s, between attempts.
func retryUnavailable(ctx context.Context, f func() error) error {
	pause := 50 * time.Millisecond
	for {
		err := f()
		if err == nil || !linkvault.IsUnavailable(err) {
			return err
		}
		if poller.Sleep(ctx, pause) != nil {
			return err
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// providerCode is the short machine code of a provider error, safe to log.
func providerCode(err error) string {
	var pe *linkvault.ProviderError
	if errors.As(err, &pe) {
		return pe.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "unknown"
}
