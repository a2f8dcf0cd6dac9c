package vault

import (
	"time"

	"github.com/linkvault/linkvault"

	lru "github.com/hashicorp/golang-lru/v2"
)

// resolveCache keeps recently resolved connections with their opened credentials, so the
// hot set is served without a database read or a decryption. It holds plaintext
// credentials in memory only; entries live at most ttl, and local writes remove them.
type resolveCache struct {
	lru *lru.Cache[cacheKey, cacheEntry]
	ttl time.Duration
}

type cacheKey struct{ clientID, tokenID string }

type cacheEntry struct {
	r       *Resolved
	expires time.Time
}

func newResolveCache(size int, ttl time.Duration) *resolveCache {
	if size <= 0 || ttl <= 0 {
		return &resolveCache{}
	}
	l, err := lru.New[cacheKey, cacheEntry](size)
	if err != nil {
		panic("vault: cache: " + err.Error()) // only for size <= 0, excluded above
	}
	return &resolveCache{lru: l, ttl: ttl}
}

func (c *resolveCache) get(clientID, tokenID string, now time.Time) (*Resolved, bool) {
	r, ok := c.peek(clientID, tokenID, now)
	if !ok {
		return nil, false
	}
	// Hand out a copy: callers may modify the connection (to save it back) while other
	// requests read the cached one. The copy and its Resolved are one allocation.
	cp := &resolvedCopy{conn: *r.Connection}
	cp.r = Resolved{Connection: &cp.conn, Credential: r.Credential}
	return &cp.r, true
}

// peek returns the cached entry itself (shared: never to be modified).
func (c *resolveCache) peek(clientID, tokenID string, now time.Time) (*Resolved, bool) {
	if c.lru == nil {
		return nil, false
	}
	k := cacheKey{clientID, tokenID}
	e, ok := c.lru.Get(k)
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		c.lru.Remove(k)
		return nil, false
	}
	return e.r, true
}

// resolvedCopy holds a Resolved handed out by the cache together with the copy of the
// connection it points to.
type resolvedCopy struct {
	r    Resolved
	conn linkvault.Connection
}

func (c *resolveCache) put(clientID, tokenID string, r *Resolved, now time.Time) {
	if c.lru == nil {
		return
	}
	conn := *r.Connection
	c.lru.Add(cacheKey{clientID, tokenID}, cacheEntry{r: &Resolved{Connection: &conn, Credential: r.Credential}, expires: now.Add(c.ttl)})
}

func (c *resolveCache) remove(clientID, tokenID string) {
	if c.lru == nil {
		return
	}
	c.lru.Remove(cacheKey{clientID, tokenID})
}
