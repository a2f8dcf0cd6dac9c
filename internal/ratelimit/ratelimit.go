// Package ratelimit keeps per-key token buckets (per source address and client id, per
// client id) with a bounded memory footprint, for the server's abuse limits. Limits are
// per process: with several replicas behind a load balancer each replica enforces its
// own share.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, each refilling at PerMinute tokens per
// minute up to a burst of PerMinute. The zero PerMinute disables limiting.
type Keyed struct {
	perMinute int
	maxKeys   int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns a limiter allowing perMinute events per key per minute; at most maxKeys
// keys are tracked (idle ones are dropped first when the table is full, see evict).
func New(perMinute, maxKeys int, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &Keyed{perMinute: perMinute, maxKeys: maxKeys, now: now, buckets: make(map[string]*bucket)}
}

// Take consumes one event for key and reports whether it was within the limit, and if
// not, how long until the next one is.
func (k *Keyed) Take(key string) (bool, time.Duration) {
	if k == nil || k.perMinute <= 0 {
		return true, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		if len(k.buckets) >= k.maxKeys {
			k.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(time.Minute/time.Duration(k.perMinute)), k.perMinute)}
		k.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict makes room for a new key. Buckets idle for a minute go first (they are full
// again, so forgetting them loses nothing); if that frees too little, arbitrary
// buckets go (map order is randomised) until a quarter of the table is free, so a
// flood of new keys costs amortised constant time per key. Forgetting a bucket only
// ever gives its key a fresh budget.
func (k *Keyed) evict(now time.Time) {
	for key, b := range k.buckets {
		if now.Sub(b.seen) >= time.Minute {
			delete(k.buckets, key)
		}
	}
	target := k.maxKeys - k.maxKeys/4
	for key := range k.buckets {
		if len(k.buckets) < target {
			break
		}
		delete(k.buckets, key)
	}
}

// Len is the number of tracked keys.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
