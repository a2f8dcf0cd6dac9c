package refresh

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/vault"
)

var now0 = time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)

func TestNextRefresh(t *testing.T) {
	pol := vault.Policy{RefreshAhead: 5 * time.Minute}
	cred := func(life time.Duration) linkvault.Credential {
		return linkvault.Credential{AccessToken: linkvault.NewSecret("a"), RefreshToken: linkvault.NewSecret("r"), Expiry: now0.Add(life)}
	}
	tests := []struct {
		name   string
		life   time.Duration
		jitter float64
		u      float64
		want   time.Duration // from now0
	}{
		{"1h token, no jitter: 5m ahead", time.Hour, 0, 0.7, 55 * time.Minute},
		{"1h token, jitter at its earliest", time.Hour, 0.2, 0.999999999, 54 * time.Minute},
		{"1h token, jitter midway", time.Hour, 0.2, 0.5, 54*time.Minute + 30*time.Second},
		{"5m token against 5m ahead: halfway, not at once", 5 * time.Minute, 0, 0, 150 * time.Second},
		{"5m token with jitter: never before a quarter", 5 * time.Minute, 0.5, 0.999999999, 75 * time.Second},
		{"already expired when issued: retry later", -time.Second, 0.2, 0.5, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextRefresh(now0, cred(tt.life), pol, tt.jitter, tt.u, 30*time.Second).Sub(now0)
			if d := got - tt.want; d > time.Millisecond || d < -time.Millisecond {
				t.Fatalf("next refresh in %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNextValidation(t *testing.T) {
	pol := vault.Policy{ValidateEvery: time.Hour}
	for _, tt := range []struct {
		jitter, u float64
		want      time.Duration
	}{{0, 0.9, time.Hour}, {0.2, 0, time.Hour}, {0.2, 0.5, 54 * time.Minute}, {0.5, 0.999999999, 30 * time.Minute}} {
		if got := nextValidation(now0, pol, tt.jitter, tt.u).Sub(now0); (got - tt.want).Abs() > time.Millisecond {
			t.Errorf("jitter %v u %v: next validation in %v, want %v", tt.jitter, tt.u, got, tt.want)
		}
	}
}

func TestRetryableInRequest(t *testing.T) {
	pe := func(kind linkvault.ProviderErrorKind, status int, code string, ra time.Duration) error {
		return &linkvault.ProviderError{Kind: kind, StatusCode: status, Code: code, RetryAfter: ra}
	}
	tests := []struct {
		name string
		err  error
		ok   bool
		ra   time.Duration
	}{
		{"nil", nil, false, 0},
		{"503", pe(linkvault.ProviderTransient, 503, "http_503", 0), true, 0},
		{"429 with Retry-After", pe(linkvault.ProviderTransient, 429, "rate_limit_exceeded", 2*time.Second), true, 2 * time.Second},
		{"connection refused", pe(linkvault.ProviderTransient, 0, "connection_refused", 0), true, 0},
		{"timeout: the rotation may have happened", pe(linkvault.ProviderTransient, 0, "timeout", 0), false, 0},
		{"connection reset", pe(linkvault.ProviderTransient, 0, "connection_reset", 0), false, 0},
		{"invalid response to a 200", pe(linkvault.ProviderTransient, 200, "invalid_response", 0), false, 0},
		{"invalid_grant", pe(linkvault.ProviderReauth, 400, "invalid_grant", 0), false, 0},
		{"not a provider error", errors.New("boom"), false, 0},
	}
	for _, tt := range tests {
		ra, ok := retryableInRequest(tt.err)
		if ok != tt.ok || ra != tt.ra {
			t.Errorf("%s: retryableInRequest = %v, %v; want %v, %v", tt.name, ra, ok, tt.ra, tt.ok)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{}, ""},
		{"lease equal to provider + write timeouts", Config{QueueConfig: poller.QueueConfig{LeaseDuration: 20 * time.Second, WriteTimeout: 5 * time.Second}, ProviderTimeout: 15 * time.Second}, "lease duration"},
		{"lease shorter than the provider timeout", Config{QueueConfig: poller.QueueConfig{LeaseDuration: 10 * time.Second}}, "lease duration"},
		{"jitter too large", Config{Jitter: 0.6}, "jitter"},
		{"negative workers", Config{QueueConfig: poller.QueueConfig{Workers: -1}}, "workers"},
		{"backoff max below base", Config{QueueConfig: poller.QueueConfig{BackoffBase: time.Hour, BackoffMax: time.Minute}}, "backoff max"},
		{"no jitter", Config{NoJitter: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg.withDefaults()
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
	if c := (Config{NoJitter: true}).withDefaults(); c.Jitter != 0 {
		t.Errorf("NoJitter left jitter %v", c.Jitter)
	}
	a, b := Config{}.withDefaults(), Config{}.withDefaults()
	if a.Owner == b.Owner || a.Owner == "" {
		t.Errorf("default owners %q and %q must be unique per engine", a.Owner, b.Owner)
	}
}
