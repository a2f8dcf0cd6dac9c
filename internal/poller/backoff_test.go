package poller

import (
	"testing"
	"time"
)

// TestBackoff: equal jitter over a capped doubling, Retry-After raising the wait but
// never above the ceiling.
func TestBackoff(t *testing.T) {
	base, ceiling := 30*time.Second, time.Hour
	tests := []struct {
		failures   int
		retryAfter time.Duration
		u          float64
		want       time.Duration
	}{
		{1, 0, 0, 15 * time.Second},
		{1, 0, 0.999999999, 30 * time.Second},
		{2, 0, 1, time.Minute},
		{4, 0, 0.5, 3 * time.Minute},
		{8, 0, 1, time.Hour},           // 30s·2^7 = 64m, capped
		{1000, 0, 0, 30 * time.Minute}, // no overflow
		{1, 5 * time.Minute, 0, 5 * time.Minute},
		{1, 48 * time.Hour, 0, time.Hour},
	}
	for _, tt := range tests {
		got := Backoff(tt.failures, base, ceiling, tt.retryAfter, tt.u)
		if (got - tt.want).Abs() > time.Millisecond {
			t.Errorf("Backoff(%d failures, retryAfter %v, u %v) = %v, want %v", tt.failures, tt.retryAfter, tt.u, got, tt.want)
		}
	}
}
