package clients

import (
	"sync"
	"time"

	"github.com/linkvault/linkvault"
)

// keyCache keeps API key records for a short time so authentication needs no database
// read on the hot path. Revocations made in this process remove the entry at once.
type keyCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]keyEntry
}

type keyEntry struct {
	k       *linkvault.APIKey
	expires time.Time
}

// maxCachedKeys bounds the cache; keys are few (a handful per client).
const maxCachedKeys = 10000

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: make(map[string]keyEntry)}
}

func (c *keyCache) get(id string, now time.Time) (*linkvault.APIKey, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.k, true
}

func (c *keyCache) put(k *linkvault.APIKey, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[k.ID] = keyEntry{k: k, expires: now.Add(c.ttl)}
	c.mu.Unlock()
}

func (c *keyCache) remove(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
