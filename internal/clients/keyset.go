package clients

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linkvault/linkvault"
)

// keys holds every API key record in memory, so authentication looks a key id up the
// same way whether it exists or not: a map read, never a database read that only
// unknown ids would need (which made them measurably slower, issue 15 failure 6).
// Keys created or revoked through this Service change the set at once; changes made
// elsewhere (the CLI, another replica) are seen by the first request that starts a
// refresh period or more after they were made. The set is reloaded in the background
// once it is older than four fifths of the period, so a busy server never waits for
// it; a request that finds it a whole period old (a server that was idle) reloads it
// before answering. Which request waits depends on the set's age only, never on the
// key id it presents.
//
// If reloading fails, the current set is used until it is staleLimit refresh periods
// old (a failed reload is retried at most once per retryGap); after that, lookups
// reload synchronously and fail with the store's error, so a revocation can never go
// unseen for long.
type keys struct {
	store   Store
	now     func() time.Time
	refresh time.Duration // <= 0: every lookup reloads (one-shot CLI services)

	set       atomic.Pointer[keySet]
	mu        sync.Mutex   // serialises loads and local changes
	reloading atomic.Bool  // a background reload is running
	lastTry   atomic.Int64 // unix nanoseconds of the last background reload attempt
	lastFail  atomic.Int64 // unix nanoseconds of the last failed reload
	lastErr   error        // the error of that reload (guarded by mu)
	failures  atomic.Int64 // failed reloads so far
}

// keySet is one immutable snapshot of the api_keys table.
type keySet struct {
	byID   map[string]*linkvault.APIKey
	loaded time.Time
}

// staleLimit is how many refresh periods a set may be used when reloads fail.
const staleLimit = 4

// retryGap is the least time between two reloads a request waits for while the store
// fails (a fraction of the period): the requests in between use the current set.
func (k *keys) retryGap() time.Duration { return k.refresh / 5 }

func newKeys(store Store, now func() time.Time, refresh time.Duration) *keys {
	return &keys{store: store, now: now, refresh: refresh}
}

// current returns the key set to authenticate against.
func (k *keys) current(ctx context.Context) (*keySet, error) {
	ks := k.set.Load()
	if ks == nil || k.refresh <= 0 {
		return k.reload(ctx, nil)
	}
	now := k.now()
	age := now.Sub(ks.loaded)
	switch {
	case age >= staleLimit*k.refresh:
		return k.reloadDetached(ctx, ks)
	case age >= k.refresh:
		// Too old to answer from: a key revoked elsewhere a period ago would still
		// pass. Reload first, unless the store failed just now (then the set serves
		// until staleLimit, as it would have had the background reload failed).
		if now.UnixNano()-k.lastFail.Load() < int64(k.retryGap()) {
			return ks, nil
		}
		if fresh, err := k.reloadDetached(ctx, ks); err == nil {
			return fresh, nil
		}
	case age >= k.refresh-k.retryGap():
		k.reloadInBackground()
	}
	return ks, nil
}

// reloadDetached is a reload a request waits for, not cancelled with the request: a
// caller that hangs up must not make the reload look failed, which would keep the old
// set serving the next requests (or hand them its cancellation). It is bounded by one
// refresh period.
func (k *keys) reloadDetached(ctx context.Context, seen *keySet) (*keySet, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.refresh)
	defer cancel()
	return k.reload(ctx, seen)
}

// reloadInBackground starts one background reload, at most one per refresh period
// (so a failing store is not hammered by every request).
func (k *keys) reloadInBackground() {
	now := k.now().UnixNano()
	if now-k.lastTry.Load() < int64(k.refresh) || !k.reloading.CompareAndSwap(false, true) {
		return
	}
	k.lastTry.Store(now)
	go func() {
		defer k.reloading.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = k.reload(ctx, nil) // on failure the current set stays, until staleLimit
	}()
}

// reload reads every key from the store. seen is the set the caller found too old;
// if another load replaced it meanwhile, that newer set is returned without reading.
// Callers that waited while another's reload failed get that failure without
// trying again, so a slow, failing store is not queried once per waiting request.
func (k *keys) reload(ctx context.Context, seen *keySet) (*keySet, error) {
	failures := k.failures.Load()
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur := k.set.Load(); seen != nil && cur != seen {
		return cur, nil
	}
	if seen != nil && k.failures.Load() != failures {
		return nil, k.lastErr
	}
	start := k.now()
	failed := func(err error) (*keySet, error) {
		k.lastFail.Store(k.now().UnixNano())
		k.lastErr = err
		k.failures.Add(1)
		return nil, err
	}
	cls, err := k.store.ListClients(ctx)
	if err != nil {
		return failed(err)
	}
	byID := make(map[string]*linkvault.APIKey)
	for _, c := range cls {
		list, err := k.store.ListAPIKeys(ctx, c.ID)
		if err != nil {
			return failed(err)
		}
		for _, key := range list {
			byID[key.ID] = key
		}
	}
	ks := &keySet{byID: byID, loaded: start}
	k.set.Store(ks)
	return ks, nil
}

// put records a key created or changed by this process in the current set.
func (k *keys) put(key *linkvault.APIKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur := k.set.Load()
	if cur == nil {
		return // loaded, with this key, on first use
	}
	byID := make(map[string]*linkvault.APIKey, len(cur.byID)+1)
	for id, v := range cur.byID {
		byID[id] = v
	}
	byID[key.ID] = key
	k.set.Store(&keySet{byID: byID, loaded: cur.loaded})
}

// revoked marks key id revoked at at in the current set.
func (k *keys) revoked(id string, at time.Time) {
	if cur := k.set.Load(); cur != nil {
		if old, ok := cur.byID[id]; ok {
			cp := *old
			cp.RevokedAt = at
			k.put(&cp)
		}
	}
}
