// Package ratelimit keeps per-key token buckets (per client IP, per client id) with a
// bounded memory footprint, for the server's abuse limits. Limits are per process: with
// several replicas behind a load balancer each replica enforces its own share.
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
// keys are tracked (idle ones are dropped first when the table is full).
func New(perMinute, maxKeys int, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	return &Keyed{perMinute: perMinute, maxKeys: maxKeys, now: now, buckets: make(map[string]*bucket)}
}

// Blocked reports whether key has no event left right now, and if so how long until
// one is available. It consumes nothing.
func (k *Keyed) Blocked(key string) (bool, time.Duration) {
	if k == nil || k.perMinute <= 0 {
		return false, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		return false, 0
	}
	if tokens := b.lim.TokensAt(now); tokens < 1 {
		perToken := time.Minute / time.Duration(k.perMinute)
		return true, time.Duration((1 - tokens) * float64(perToken))
	}
	return false, 0
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

// evict drops buckets idle for a minute (they are full again, so forgetting them loses
// nothing); if none is that idle, it drops the whole table rather than grow it.
func (k *Keyed) evict(now time.Time) {
	for key, b := range k.buckets {
		if now.Sub(b.seen) >= time.Minute {
			delete(k.buckets, key)
		}
	}
	if len(k.buckets) >= k.maxKeys {
		clear(k.buckets)
	}
}

// Len is the number of tracked keys.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
