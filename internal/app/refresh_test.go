package app

import (
	"reflect"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/refresh"
)

// TestEveryRefreshSettingReachesTheEngine sets every LINKVAULT_REFRESH_* variable to a
// value other than its default, loads the configuration as serve does, and checks that
// each one arrives in the engine's config or the vault's policy. The table must name
// every field of config.Refresh, so a setting added later cannot be left unmapped
// (before, backoff, warn-ahead, write timeout and expiry skew had no variable at all).
func TestEveryRefreshSettingReachesTheEngine(t *testing.T) {
	env := map[string]string{
		"LINKVAULT_REFRESH_ENABLED":             "false",
		"LINKVAULT_REFRESH_POLL_INTERVAL":       "3s",
		"LINKVAULT_REFRESH_LEASE_DURATION":      "2m",
		"LINKVAULT_REFRESH_BATCH_SIZE":          "77",
		"LINKVAULT_REFRESH_AHEAD":               "7m",
		"LINKVAULT_REFRESH_VALIDATION_INTERVAL": "45m",
		"LINKVAULT_REFRESH_WORKERS":             "13",
		"LINKVAULT_REFRESH_JITTER":              "0.35",
		"LINKVAULT_REFRESH_BACKOFF_BASE":        "11s",
		"LINKVAULT_REFRESH_BACKOFF_MAX":         "17m",
		"LINKVAULT_REFRESH_WARN_AHEAD":          "90m",
		"LINKVAULT_REFRESH_WARN_FRACTION":       "0.15",
		"LINKVAULT_REFRESH_WRITE_TIMEOUT":       "21s",
		"LINKVAULT_REFRESH_EXPIRY_SKEW":         "40s",
		"LINKVAULT_REFRESH_SESSION_EXPIRY_SKEW": "3s",
		"LINKVAULT_REFRESH_ON_DEMAND_ATTEMPTS":  "5",
		"LINKVAULT_REFRESH_ON_DEMAND_BACKOFF":   "350ms",
		"LINKVAULT_COINBASE_TIMEOUT":            "25s",
	}
	cfg, err := config.Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rc, pol := RefreshConfig(cfg), LifecyclePolicy(cfg.Refresh)
	// config.Refresh field -> where it must arrive, and the value it must have.
	mapped := map[string]struct{ got, want any }{
		"Enabled":            {cfg.Refresh.Enabled, false}, // read by serve, which starts the loop or not
		"PollInterval":       {rc.PollInterval, 3 * time.Second},
		"LeaseDuration":      {rc.LeaseDuration, 2 * time.Minute},
		"BatchSize":          {rc.BatchSize, 77},
		"Ahead":              {pol.RefreshAhead, 7 * time.Minute},
		"ValidationInterval": {pol.ValidateEvery, 45 * time.Minute},
		"Workers":            {rc.Workers, 13},
		"Jitter":             {rc.Jitter, 0.35},
		"BackoffBase":        {rc.BackoffBase, 11 * time.Second},
		"BackoffMax":         {rc.BackoffMax, 17 * time.Minute},
		"WarnAhead":          {pol.WarnAhead, 90 * time.Minute},
		"WarnFraction":       {pol.WarnFraction, 0.15},
		"WriteTimeout":       {rc.WriteTimeout, 21 * time.Second},
		"ExpirySkew":         {rc.ExpirySkew, 40 * time.Second},
		"SessionExpirySkew":  {rc.SessionExpirySkew, 3 * time.Second},
		"OnDemandAttempts":   {rc.OnDemandAttempts, 5},
		"OnDemandBackoff":    {rc.OnDemandBackoff, 350 * time.Millisecond},
	}
	for f := range reflect.TypeFor[config.Refresh]().Fields() {
		m, ok := mapped[f.Name]
		if !ok {
			t.Errorf("config.Refresh.%s is not checked here: map it in RefreshConfig or LifecyclePolicy and add it to this table", f.Name)
			continue
		}
		if !reflect.DeepEqual(m.got, m.want) {
			t.Errorf("%s arrived as %v, want %v", f.Name, m.got, m.want)
		}
	}
	if rc.ProviderTimeout != 25*time.Second || rc.NoJitter {
		t.Errorf("provider timeout %v (want the longest provider timeout, 25s), NoJitter %v", rc.ProviderTimeout, rc.NoJitter)
	}
	// The mapped config is one the engine accepts.
	if _, err := refresh.New(rc, refresh.Deps{}); err == nil || err.Error() != "refresh: Store, Vault, Sealer and Providers are required" {
		t.Fatalf("refresh.New rejected the mapped config: %v", err)
	}
}

// TestZeroJitterDisablesIt: LINKVAULT_REFRESH_JITTER=0 turns the spread off (the
// engine's zero value would mean its default).
func TestZeroJitterDisablesIt(t *testing.T) {
	cfg := config.Default()
	cfg.Refresh.Jitter = 0
	if rc := RefreshConfig(&cfg); !rc.NoJitter {
		t.Fatal("Jitter 0 did not set NoJitter")
	}
}
