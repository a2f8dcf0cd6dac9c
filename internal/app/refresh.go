package app

import (
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/vault"
)

// LifecyclePolicy is the vault's scheduling policy from the LINKVAULT_REFRESH_* settings.
func LifecyclePolicy(r config.Refresh) vault.Policy {
	return vault.Policy{
		RefreshAhead: r.Ahead, ValidateEvery: r.ValidationInterval,
		WarnAhead: r.WarnAhead, WarnFraction: r.WarnFraction,
	}
}

// RefreshConfig is the lifecycle engine's configuration from the LINKVAULT_REFRESH_*
// settings and the longest provider timeout (without logger and clock).
func RefreshConfig(cfg *config.Config) refresh.Config {
	r := cfg.Refresh
	return refresh.Config{
		QueueConfig: poller.QueueConfig{
			PollInterval: r.PollInterval, BatchSize: r.BatchSize, Workers: r.Workers,
			LeaseDuration: r.LeaseDuration, WriteTimeout: r.WriteTimeout,
			BackoffBase: r.BackoffBase, BackoffMax: r.BackoffMax,
		},
		ProviderTimeout: maxProviderTimeout(cfg), Jitter: r.Jitter, NoJitter: r.Jitter == 0,
		ExpirySkew: r.ExpirySkew, SessionExpirySkew: r.SessionExpirySkew,
		OnDemandAttempts: r.OnDemandAttempts, OnDemandBackoff: r.OnDemandBackoff,
	}
}
