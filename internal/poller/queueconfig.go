package poller

import (
	"errors"
	"log/slog"
	"time"
)

// QueueConfig is the part of the configuration every leased work queue built on a
// Poller shares (the refresh engine, the webhook dispatcher, the revocation queue):
// each embeds it in its own Config, next to its call timeout and its own settings.
// Zero fields take the defaults the queue passes to WithDefaults.
type QueueConfig struct {
	// Owner names this process in leases (the lease_owner column); it must differ
	// between replicas. Default: hostname, pid and a random suffix (DefaultOwner).
	Owner string
	// PollInterval is how often due items are looked for when the last poll found less
	// than a full batch (a full batch polls again at once).
	PollInterval time.Duration
	// BatchSize caps the items one poll claims. A poll claims no more items than it has
	// idle workers, plus Config.Prefetch where the user of the queue sets one (the
	// refresh engine: half its workers).
	BatchSize int
	// Workers is how many items are worked on at once.
	Workers int
	// LeaseDuration is how long a claimed item stays leased; it must exceed the
	// queue's call timeout plus WriteTimeout (CheckLease).
	LeaseDuration time.Duration
	// WriteTimeout bounds recording an outcome.
	WriteTimeout time.Duration
	// BackoffBase and BackoffMax are the retry schedule (Backoff): attempt n+1 waits
	// BackoffBase×2^(n−1), capped at BackoffMax (upper half random), or the
	// exchange's Retry-After when longer (still capped).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Now is the clock (default time.Now). Leases compare clocks of different
	// replicas: keep them synchronised well within LeaseDuration.
	Now func() time.Time
	// Logger receives the queue's events, never secrets (default: discard).
	Logger *slog.Logger
}

// WithDefaults returns c with its zero numbers taken from d and the runtime defaults
// (DefaultRuntime) filled in; d's Owner, Now and Logger are not used.
func (c QueueConfig) WithDefaults(d QueueConfig) QueueConfig {
	DefaultRuntime(&c.Owner, &c.Now, &c.Logger)
	Default(&c.PollInterval, d.PollInterval)
	Default(&c.BatchSize, d.BatchSize)
	Default(&c.Workers, d.Workers)
	Default(&c.LeaseDuration, d.LeaseDuration)
	Default(&c.WriteTimeout, d.WriteTimeout)
	Default(&c.BackoffBase, d.BackoffBase)
	Default(&c.BackoffMax, d.BackoffMax)
	return c
}

// Check reports the inconsistent settings of a defaulted QueueConfig: a duration
// (its own or one of the queue's, durations) that is not positive, a batch size or
// worker count below 1, and a backoff ceiling below its base (CheckBackoff). The lease
// is checked by the queue against its call timeout (CheckLease).
func (c QueueConfig) Check(durations ...time.Duration) []error {
	var errs []error
	for _, d := range append([]time.Duration{c.PollInterval, c.LeaseDuration, c.WriteTimeout, c.BackoffBase, c.BackoffMax}, durations...) {
		if d <= 0 {
			errs = append(errs, errors.New("durations must be positive"))
			break
		}
	}
	if c.BatchSize < 1 || c.Workers < 1 {
		errs = append(errs, errors.New("batch size and workers must be at least 1"))
	}
	return append(errs, CheckBackoff(c.BackoffBase, c.BackoffMax))
}

// Poller returns the configuration of the queue's Poller, named name, logging to log.
func (c QueueConfig) Poller(name string, log *slog.Logger) Config {
	return Config{Name: name, PollInterval: c.PollInterval, BatchSize: c.BatchSize, Workers: c.Workers, Now: c.Now, Logger: log}
}
