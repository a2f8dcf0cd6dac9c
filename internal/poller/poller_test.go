package poller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// queue is a store of due items that hands each out once.
type queue struct {
	mu     sync.Mutex
	items  []int
	fail   atomic.Bool
	claims atomic.Int64
	limits []int // the limit of every claim
}

func (q *queue) claim(_ context.Context, _ time.Time, limit int) ([]int, error) {
	q.claims.Add(1)
	if q.fail.Load() {
		return nil, errors.New("database down")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limits = append(q.limits, limit)
	n := min(limit, len(q.items))
	out := append([]int(nil), q.items[:n]...)
	q.items = q.items[n:]
	return out, nil
}

func TestEveryItemIsWorkedOnOnceWithinTheWorkerBound(t *testing.T) {
	for _, prefetch := range []int{0, 3} {
		t.Run(fmt.Sprintf("prefetch %d", prefetch), func(t *testing.T) { testEveryItemOnce(t, prefetch) })
	}
}

func testEveryItemOnce(t *testing.T, prefetch int) {
	q := &queue{}
	for i := range 500 {
		q.items = append(q.items, i)
	}
	var mu sync.Mutex
	seen := map[int]int{}
	var busy, maxBusy atomic.Int64
	done := make(chan struct{})
	p := New(Config{Name: "test", PollInterval: time.Millisecond, BatchSize: 10, Workers: 4, Prefetch: prefetch, Now: time.Now}, q.claim,
		func(_ context.Context, item int) {
			if b := busy.Add(1); b > maxBusy.Load() {
				maxBusy.Store(b)
			}
			defer busy.Add(-1)
			mu.Lock()
			seen[item]++
			if len(seen) == 500 {
				close(done)
			}
			mu.Unlock()
		})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("not every item was worked on")
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for item, n := range seen {
		if n != 1 {
			t.Fatalf("item %d worked on %d times", item, n)
		}
	}
	if maxBusy.Load() > 4 {
		t.Fatalf("%d items worked on at once, bound is 4", maxBusy.Load())
	}
}

func TestStopWaitsForWorkAndCancelsAtItsDeadline(t *testing.T) {
	q := &queue{items: []int{1}}
	started, finished := make(chan struct{}), make(chan struct{})
	p := New(Config{Name: "test", PollInterval: time.Millisecond, BatchSize: 1, Workers: 1, Now: time.Now}, q.claim,
		func(ctx context.Context, _ int) {
			close(started)
			<-ctx.Done() // only Stop's deadline ends this work
			close(finished)
		})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop = %v, want the deadline's error", err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Stop returned before the work did")
	}
}

func TestCheckReportsLongFailingClaims(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	q := &queue{}
	q.fail.Store(true)
	p := New(Config{Name: "test", PollInterval: time.Millisecond, BatchSize: 1, Workers: 1,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }}, q.claim, func(context.Context, int) {})
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("never-started poller unhealthy: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	for q.claims.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("unhealthy right after the first failures: %v", err)
	}
	clock.Add(int64(time.Minute))
	if err := p.Check(context.Background()); err == nil {
		t.Fatal("a minute of failing claims not reported")
	}
	q.fail.Store(false)
	for before := q.claims.Load(); q.claims.Load() < before+2; {
		time.Sleep(time.Millisecond)
	}
	if err := p.Check(context.Background()); err != nil {
		t.Fatalf("still unhealthy after claims recovered: %v", err)
	}
}

// TestSharedSlotsBoundTheWorkTogether: slots held outside the poller (on-demand work
// sharing the semaphore) leave the poller only the rest: it never works on more items
// than the free places, and claims nothing while none is free.
func TestSharedSlotsBoundTheWorkTogether(t *testing.T) {
	q := &queue{}
	for i := range 50 {
		q.items = append(q.items, i)
	}
	slots := make(chan struct{}, 4)
	slots <- struct{}{} // held by other work
	slots <- struct{}{}
	var busy, maxBusy atomic.Int64
	var worked atomic.Int64
	p := New(Config{Name: "test", PollInterval: time.Millisecond, BatchSize: 10, Workers: 4, Slots: slots, Now: time.Now}, q.claim,
		func(_ context.Context, _ int) {
			if b := busy.Add(1); b > maxBusy.Load() {
				maxBusy.Store(b)
			}
			time.Sleep(time.Millisecond)
			busy.Add(-1)
			worked.Add(1)
		})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for worked.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if worked.Load() != 50 || maxBusy.Load() > 2 {
		t.Fatalf("worked %d of 50, at most %d at once; want all, at most 2 (4 slots, 2 held elsewhere)", worked.Load(), maxBusy.Load())
	}
	// All slots taken elsewhere: the poller claims nothing.
	slots <- struct{}{}
	slots <- struct{}{}
	time.Sleep(5 * time.Millisecond) // let a poll in progress finish
	claims := q.claims.Load()
	time.Sleep(20 * time.Millisecond)
	if got := q.claims.Load(); got != claims {
		t.Fatalf("%d claims while every slot was taken", got-claims)
	}
	<-slots
	<-slots
	<-slots
	<-slots
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// With Prefetch, a claim asks for the idle workers plus Prefetch items that wait for a
// worker; the waiting items are worked on (by a worker that finishes, or at Stop), and
// never more at once than the worker bound.
func TestPrefetchedItemsWaitForAWorker(t *testing.T) {
	q := &queue{items: []int{0, 1, 2, 3, 4, 5}}
	gate := make(chan struct{})
	var mu sync.Mutex
	seen := map[int]int{}
	var busy, maxBusy atomic.Int64
	p := New(Config{Name: "test", PollInterval: time.Hour, BatchSize: 10, Workers: 2, Prefetch: 2, Now: time.Now}, q.claim,
		func(_ context.Context, item int) {
			if b := busy.Add(1); b > maxBusy.Load() {
				maxBusy.Store(b)
			}
			defer busy.Add(-1)
			<-gate
			mu.Lock()
			seen[item]++
			mu.Unlock()
		})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Both workers busy and two items waiting: the loop waits for a slot.
	for len(p.pending) < 2 {
		time.Sleep(time.Millisecond)
	}
	q.mu.Lock()
	first := q.limits[0]
	q.mu.Unlock()
	if first != 4 {
		t.Fatalf("first claim asked for %d items, want 2 idle workers + 2 ahead", first)
	}
	stopped := make(chan error)
	go func() { stopped <- p.Stop(context.Background()) }()
	close(gate)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	q.mu.Lock()
	claimed := 6 - len(q.items)
	q.mu.Unlock()
	if len(seen) != claimed || claimed < 4 {
		t.Fatalf("%d of %d claimed items worked on (%v)", len(seen), claimed, seen)
	}
	for item, n := range seen {
		if n != 1 {
			t.Fatalf("item %d worked on %d times", item, n)
		}
	}
	if len(p.pending) != 0 {
		t.Fatalf("%d claimed items left waiting after Stop", len(p.pending))
	}
	if maxBusy.Load() > 2 {
		t.Fatalf("%d items worked on at once, bound is 2", maxBusy.Load())
	}
}
