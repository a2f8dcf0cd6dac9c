package refresh

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/linkvault/linkvault/internal/poller"
)

// Config configures an Engine. Zero fields take the defaults listed with each field.
type Config struct {
	// Owner names this process in leases (the lease_owner column). It must differ
	// between replicas. Default: hostname, pid and a random suffix.
	Owner string

	// PollInterval is how often the due set is polled when the last poll found less
	// than a full batch (a full batch polls again at once). Default 1s.
	PollInterval time.Duration
	// BatchSize caps the rows one poll claims. A poll never claims more rows than it
	// has idle workers, so no claimed row waits in a queue while its lease runs.
	// Default 100.
	BatchSize int
	// Workers is how many connections this process works on at once under a lease,
	// the background loop and API-triggered renewals together: the bound on the grants
	// one crash can cost (docs/lifecycle.md, "The crash window"). An API call that
	// finds every slot taken waits for one, at most LeaseDuration. Default 8.
	Workers int

	// LeaseDuration is how long a claimed connection stays leased. It must exceed
	// ProviderTimeout + WriteTimeout (checked by New): a worker that still holds a
	// lease is the only one that may call the provider with the connection's refresh
	// token. Default 1m.
	LeaseDuration time.Duration
	// ProviderTimeout bounds one provider call (refresh or validation). Default 15s.
	ProviderTimeout time.Duration
	// WriteTimeout is the part of the lease kept for the write-back: a provider call
	// starts only while the lease covers ProviderTimeout + WriteTimeout. The write-back
	// itself may use all that is left of the lease (at least WriteTimeout), is retried
	// while the database does not answer, and is not cancelled by Stop: a rotated
	// refresh token must reach the database. Default 5s.
	WriteTimeout time.Duration

	// Jitter spreads schedules so that connections created together do not come due
	// together: refreshes happen up to Jitter×RefreshAhead earlier than the policy
	// says, validations up to Jitter×ValidateEvery earlier. 0..0.5; default 0.2.
	// Set NoJitter to disable.
	Jitter   float64
	NoJitter bool

	// BackoffBase and BackoffMax bound the delay before retrying a connection whose
	// provider call failed transiently: BackoffBase×2^(failures-1), capped, with
	// jitter, and never sooner than the provider's Retry-After. Defaults 30s and 1h.
	BackoffBase time.Duration
	BackoffMax  time.Duration

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

	// Now is the clock (default time.Now). Leases compare clocks of different
	// replicas: keep them synchronised well within LeaseDuration − ProviderTimeout −
	// WriteTimeout.
	Now func() time.Time
	// Logger receives engine events, never secrets (default: discard).
	Logger *slog.Logger
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

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	poller.DefaultRuntime(&c.Owner, &c.Now, &c.Logger)
	poller.Default(&c.PollInterval, DefaultPollInterval)
	poller.Default(&c.BatchSize, DefaultBatchSize)
	poller.Default(&c.Workers, DefaultWorkers)
	poller.Default(&c.LeaseDuration, DefaultLeaseDuration)
	poller.Default(&c.ProviderTimeout, DefaultProviderTimeout)
	poller.Default(&c.WriteTimeout, DefaultWriteTimeout)
	if c.NoJitter {
		c.Jitter = 0
	} else {
		poller.Default(&c.Jitter, DefaultJitter)
	}
	poller.Default(&c.BackoffBase, DefaultBackoffBase)
	poller.Default(&c.BackoffMax, DefaultBackoffMax)
	poller.Default(&c.ExpirySkew, DefaultExpirySkew)
	poller.Default(&c.SessionExpirySkew, DefaultSessionSkew)
	poller.Default(&c.OnDemandAttempts, DefaultOnDemandAttempts)
	poller.Default(&c.OnDemandBackoff, DefaultOnDemandBackoff)
	return c
}

// Validate reports every inconsistent setting of a defaulted Config.
func (c Config) Validate() error {
	var errs []error
	if c.PollInterval < 0 || c.LeaseDuration < 0 || c.ProviderTimeout < 0 || c.WriteTimeout < 0 ||
		c.BackoffBase < 0 || c.BackoffMax < 0 || c.ExpirySkew < 0 || c.SessionExpirySkew < 0 || c.OnDemandBackoff < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.BatchSize < 1 {
		errs = append(errs, errors.New("batch size must be at least 1"))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("workers must be at least 1"))
	}
	if c.OnDemandAttempts < 1 {
		errs = append(errs, errors.New("on-demand attempts must be at least 1"))
	}
	if err := poller.CheckLease(c.LeaseDuration, c.ProviderTimeout, "provider timeout", c.WriteTimeout); err != nil {
		errs = append(errs, fmt.Errorf("%w: a lease that lapses during a provider call lets another worker replay the refresh token", err))
	}
	if c.Jitter < 0 || c.Jitter > 0.5 {
		errs = append(errs, fmt.Errorf("jitter %v must be within 0..0.5", c.Jitter))
	}
	errs = append(errs, poller.CheckBackoff(c.BackoffBase, c.BackoffMax))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("refresh: invalid config: %w", err)
	}
	return nil
}
