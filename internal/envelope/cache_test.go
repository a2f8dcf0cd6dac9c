package envelope

import (
	"context"
	"crypto/cipher"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestLoadGroupWaiterRetriesAfterLeaderContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g loadGroup
		key := cacheKey{"client", 1}
		release := make(chan struct{})
		leaderCtx, cancel := context.WithCancel(context.Background())
		var leaderErr error
		go func() {
			_, _, leaderErr = g.do(leaderCtx, key, func() (int, cipher.AEAD, error) {
				<-release
				return 0, nil, leaderCtx.Err()
			})
		}()
		synctest.Wait() // the leader's load is in flight

		var waiterVersion int
		var waiterErr error
		go func() {
			waiterVersion, _, waiterErr = g.do(context.Background(), key, func() (int, cipher.AEAD, error) {
				return 7, nil, nil
			})
		}()
		synctest.Wait() // the waiter waits for the leader
		cancel()
		close(release)
		synctest.Wait()

		if !errors.Is(leaderErr, context.Canceled) {
			t.Errorf("leader error = %v, want context.Canceled", leaderErr)
		}
		if waiterErr != nil || waiterVersion != 7 {
			t.Errorf("waiter = %d, %v; want its own load's result 7, nil", waiterVersion, waiterErr)
		}
	})
}

func TestLoadGroupWaiterGivesUpWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g loadGroup
		key := cacheKey{"client", 1}
		release := make(chan struct{})
		go func() {
			_, _, _ = g.do(context.Background(), key, func() (int, cipher.AEAD, error) {
				<-release
				return 1, nil, nil
			})
		}()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _, err := g.do(ctx, key, func() (int, cipher.AEAD, error) {
			t.Error("waiter ran its own load while the first was in flight")
			return 0, nil, nil
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waiter error = %v, want context.DeadlineExceeded", err)
		}
		close(release)
	})
}

func TestKeyCacheStaysWithinLimit(t *testing.T) {
	c := newKeyCache(3)
	now := time.Unix(0, 0)
	for i := range 10 {
		id := string(rune('a' + i))
		c.putCurrent(id, 1, nil, now)
		c.put(id, 2, nil)
		if len(c.keys) > 3 || len(c.current) > 3 {
			t.Fatalf("cache grew to %d keys, %d current entries; limit 3", len(c.keys), len(c.current))
		}
	}
}

func TestKeyCacheCurrentVersionNeverMovesBack(t *testing.T) {
	c := newKeyCache(10)
	t0 := time.Unix(100, 0)
	c.putCurrent("a", 3, nil, t0)
	c.putCurrent("a", 2, nil, t0.Add(time.Second)) // a lagging read of "latest"
	cur, _, ok := c.getCurrent("a")
	if !ok || cur.version != 3 || !cur.checkedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("current = %+v, %v; want version 3 checked at the later time", cur, ok)
	}
}
