package refresh

import (
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault/internal/poller"
)

// Config configures an Engine. Zero fields take the defaults listed with each field.
type Config struct {
	// QueueConfig: the lease owner, polling, workers, lease, write timeout, retry
	// schedule, clock and logger. For the engine:
	//
	//   - Workers (default 8) is how many connections this process works on at once
	//     under a lease, the background loop and API-triggered renewals together: the
	//     bound on the grants one crash can cost (docs/lifecycle.md, "The crash
	//     window"). An API call that finds every slot taken waits for one, at most
	//     LeaseDuration.
	//   - LeaseDuration (default 1m) must exceed ProviderTimeout + WriteTimeout (checked
	//     by New): a worker that still holds a lease is the only one that may call the
	//     provider with the connection's refresh token.
	//   - WriteTimeout (default 5s) is the part of the lease kept for the write-back: a
	//     provider call starts only while the lease covers ProviderTimeout +
	//     WriteTimeout. The write-back itself may use all that is left of the lease (at
	//     least WriteTimeout), is retried while the database does not answer, and is not
	//     cancelled by Stop: a rotated refresh token must reach the database.
	//   - BackoffBase and BackoffMax (defaults 30s and 1h) bound the delay before
	//     retrying a connection whose provider call failed transiently, never sooner
	//     than the provider's Retry-After.
	//   - PollInterval defaults to 1s, BatchSize to 100. Keep the replicas' clocks (Now)
	//     synchronised well within LeaseDuration − ProviderTimeout − WriteTimeout.
	poller.QueueConfig

	// ProviderTimeout bounds one provider call (refresh or validation). Default 15s.
	ProviderTimeout time.Duration

	// Jitter spreads schedules so that connections created together do not come due
	// together: refreshes happen up to Jitter×RefreshAhead earlier than the policy
	// says, validations up to Jitter×ValidateEvery earlier. 0..0.5; default 0.2.
	// Set NoJitter to disable.
	Jitter   float64
	NoJitter bool

	// ExpirySkew: on demand, a refreshable credential expiring within this margin is
	// renewed first (so it does not expire during the API call). Default 30s.
	ExpirySkew time.Duration
	// SessionExpirySkew is the same margin for an expiring credential that cannot be
	// refreshed (a Binance-like session). Such a session cannot be renewed, only
	// abandoned, so it is used until its expiry: an API call marks it
	// re-auth-required no earlier than SessionExpirySkew before the expiry (the
	// allowance for clock differences with the exchange). Default 1s.
	SessionExpirySkew time.Duration
	// OnDemandAttempts is how many times an API request tries the provider's refresh
	// when it answers 429 or 5xx (a definite "not processed") before the request
	// fails with integrationUnavailable. Default 3.
	OnDemandAttempts int
	// OnDemandBackoff is the first pause between those attempts (doubling). Default 200ms.
	OnDemandBackoff time.Duration
}

// Defaults of Config.
const (
	DefaultPollInterval     = time.Second
	DefaultBatchSize        = 100
	DefaultWorkers          = 8
	DefaultLeaseDuration    = time.Minute
	DefaultProviderTimeout  = 15 * time.Second
	DefaultWriteTimeout     = 5 * time.Second
	DefaultJitter           = 0.2
	DefaultBackoffBase      = 30 * time.Second
	DefaultBackoffMax       = time.Hour
	DefaultExpirySkew       = 30 * time.Second
	DefaultSessionSkew      = time.Second
	DefaultOnDemandAttempts = 3
	DefaultOnDemandBackoff  = 200 * time.Millisecond
)

// queueDefaults are the defaults of Config's QueueConfig.
var queueDefaults = poller.QueueConfig{
	PollInterval: DefaultPollInterval, BatchSize: DefaultBatchSize, Workers: DefaultWorkers,
	LeaseDuration: DefaultLeaseDuration, WriteTimeout: DefaultWriteTimeout,
	BackoffBase: DefaultBackoffBase, BackoffMax: DefaultBackoffMax,
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	c.QueueConfig = c.QueueConfig.WithDefaults(queueDefaults)
	poller.Default(&c.ProviderTimeout, DefaultProviderTimeout)
	if c.NoJitter {
		c.Jitter = 0
	} else {
		poller.Default(&c.Jitter, DefaultJitter)
	}
	poller.Default(&c.ExpirySkew, DefaultExpirySkew)
	poller.Default(&c.SessionExpirySkew, DefaultSessionSkew)
	poller.Default(&c.OnDemandAttempts, DefaultOnDemandAttempts)
	poller.Default(&c.OnDemandBackoff, DefaultOnDemandBackoff)
	return c
}

// Validate reports every inconsistent setting of a defaulted Config.
func (c Config) Validate() error {
	errs := c.Check(c.ProviderTimeout, c.ExpirySkew, c.SessionExpirySkew, c.OnDemandBackoff)
	if c.OnDemandAttempts < 1 {
		errs = append(errs, errors.New("on-demand attempts must be at least 1"))
	}
	if err := poller.CheckLease(c.LeaseDuration, c.ProviderTimeout, "provider timeout", c.WriteTimeout); err != nil {
		errs = append(errs, fmt.Errorf("%w: a lease that lapses during a provider call lets another worker replay the refresh token", err))
	}
	if c.Jitter < 0 || c.Jitter > 0.5 {
		errs = append(errs, fmt.Errorf("jitter %v must be within 0..0.5", c.Jitter))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("refresh: invalid config: %w", err)
	}
	return nil
}
