package envelope

import (
	"context"
	"crypto/cipher"
	"errors"
	"sync"
	"time"
)

var errLoadAborted = errors.New("envelope: data key load aborted")

// cacheKey names one data key. Version 0 is used by the load group for "the client's
// current version".
type cacheKey struct {
	clientID string
	version  int
}

// currentEntry remembers which data key version a client seals with, and when that was
// last read from the store.
type currentEntry struct {
	version   int
	checkedAt time.Time
}

// keyCache holds unwrapped data keys as ready AEADs, and each client's current version.
// It is bounded: when full, an arbitrary entry is dropped (clients are few, so this is a
// safety net rather than a working-set policy). Reads take only a shared lock.
type keyCache struct {
	mu      sync.RWMutex
	limit   int
	keys    map[cacheKey]cipher.AEAD
	current map[string]currentEntry
}

func newKeyCache(limit int) *keyCache {
	return &keyCache{
		limit:   max(limit, 1),
		keys:    make(map[cacheKey]cipher.AEAD),
		current: make(map[string]currentEntry),
	}
}

// get returns the cipher of a data key if cached.
func (c *keyCache) get(clientID string, version int) (cipher.AEAD, bool) {
	c.mu.RLock()
	aead, ok := c.keys[cacheKey{clientID, version}]
	c.mu.RUnlock()
	return aead, ok
}

// getCurrent returns the client's current version, its cipher, and when the version
// was last read from the store.
func (c *keyCache) getCurrent(clientID string) (currentEntry, cipher.AEAD, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cur, ok := c.current[clientID]
	if !ok {
		return currentEntry{}, nil, false
	}
	aead, ok := c.keys[cacheKey{clientID, cur.version}]
	return cur, aead, ok
}

// put caches a data key's cipher.
func (c *keyCache) put(clientID string, version int, aead cipher.AEAD) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(clientID, version, aead)
}

// putCurrent caches a data key's cipher and records it as the client's current
// version as of checkedAt. A version never moves backwards.
func (c *keyCache) putCurrent(clientID string, version int, aead cipher.AEAD, checkedAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(clientID, version, aead)
	cur, ok := c.current[clientID]
	if ok && cur.version > version {
		if _, cached := c.keys[cacheKey{clientID, cur.version}]; cached {
			cur.checkedAt = checkedAt
			c.current[clientID] = cur
			return
		}
	}
	if !ok && len(c.current) >= c.limit {
		for id := range c.current {
			delete(c.current, id)
			break
		}
	}
	c.current[clientID] = currentEntry{version: version, checkedAt: checkedAt}
}

func (c *keyCache) putLocked(clientID string, version int, aead cipher.AEAD) {
	k := cacheKey{clientID, version}
	if _, ok := c.keys[k]; !ok && len(c.keys) >= c.limit {
		for victim := range c.keys {
			delete(c.keys, victim)
			break
		}
	}
	c.keys[k] = aead
}

// loadGroup runs at most one load per key at a time; concurrent callers for the same
// key wait for its result instead of querying the store and unwrapping again.
type loadGroup struct {
	mu       sync.Mutex
	inflight map[cacheKey]*load
}

type load struct {
	done    chan struct{}
	version int
	aead    cipher.AEAD
	err     error
}

// do runs fn for key unless a run is already in flight, then returns its result.
// A waiter whose ctx ends stops waiting; the run itself continues for the others. If
// the run failed only because its caller's context ended, a waiter whose own context
// is still live runs fn itself.
func (g *loadGroup) do(ctx context.Context, key cacheKey, fn func() (int, cipher.AEAD, error)) (int, cipher.AEAD, error) {
	g.mu.Lock()
	if l, ok := g.inflight[key]; ok {
		g.mu.Unlock()
		select {
		case <-l.done:
			if isContextError(l.err) && ctx.Err() == nil {
				return g.do(ctx, key, fn)
			}
			return l.version, l.aead, l.err
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
	if g.inflight == nil {
		g.inflight = make(map[cacheKey]*load)
	}
	// errLoadAborted stays only if fn panics, so waiters never see a nil cipher.
	l := &load{done: make(chan struct{}), err: errLoadAborted}
	g.inflight[key] = l
	g.mu.Unlock()

	defer func() {
		g.mu.Lock()
		delete(g.inflight, key)
		g.mu.Unlock()
		close(l.done)
	}()
	l.version, l.aead, l.err = fn()
	return l.version, l.aead, l.err
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
