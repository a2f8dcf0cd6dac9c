package poller

import (
	"testing"
	"time"
)

// TestBackoff: equal jitter over a capped doubling, Retry-After raising the wait but
// never above the ceiling.
func TestBackoff(t *testing.T) {
	tests := []struct {
		base       time.Duration // the ceiling is an hour
		failures   int
		retryAfter time.Duration
		u          float64
		want       time.Duration
	}{
		{30 * time.Second, 1, 0, 0, 15 * time.Second},
		{30 * time.Second, 1, 0, 0.999999999, 30 * time.Second},
		{30 * time.Second, 2, 0, 1, time.Minute},
		{30 * time.Second, 4, 0, 0.5, 3 * time.Minute},
		{30 * time.Second, 8, 0, 1, time.Hour},           // 30s·2^7 = 64m, capped
		{30 * time.Second, 1000, 0, 0, 30 * time.Minute}, // no overflow
		{30 * time.Second, 1, 5 * time.Minute, 0, 5 * time.Minute},
		{30 * time.Second, 1, 48 * time.Hour, 0, time.Hour},
		// The webhook dispatcher's default base.
		{5 * time.Second, 1, 0, 0, 2500 * time.Millisecond},
		{5 * time.Second, 1, 0, 0.999999, 5 * time.Second},
		{5 * time.Second, 2, 0, 0, 5 * time.Second},
		{5 * time.Second, 3, 0, 1, 20 * time.Second},
		{5 * time.Second, 11, 0, 1, time.Hour},        // 5s·2^10 = 85m, capped
		{5 * time.Second, 60, 0, 0, 30 * time.Minute}, // no overflow with many attempts
		{5 * time.Second, 1, 90 * time.Second, 0, 90 * time.Second},
		{5 * time.Second, 1, 48 * time.Hour, 0, time.Hour}, // a huge Retry-After is capped
	}
	for _, tt := range tests {
		got := Backoff(tt.failures, tt.base, time.Hour, tt.retryAfter, tt.u)
		if (got - tt.want).Abs() > time.Millisecond {
			t.Errorf("Backoff(%d failures, base %v, retryAfter %v, u %v) = %v, want %v", tt.failures, tt.base, tt.retryAfter, tt.u, got, tt.want)
		}
	}
}
