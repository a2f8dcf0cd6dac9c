// Package poller runs the claim-and-work loop shared by the refresh engine and the
// webhook dispatcher: while workers are idle it claims due items from the database
// (each claim leases the rows it returns), hands every item to a worker, and paces its
// polls. It starts and stops with a context (Stop waits for the work in flight) and
// reports its health for readiness probes.
package poller

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Poller. Every field is required but Logger.
type Config struct {
	// Name prefixes errors and log lines ("refresh", "webhook").
	Name string
	// PollInterval is the pause after a poll that found less than a full batch.
	PollInterval time.Duration
	// BatchSize caps the items one claim returns.
	BatchSize int
	// Workers is how many items are worked on at once.
	Workers int
	// Slots, when set, is a semaphore (one buffered element per busy worker, capacity
	// Workers) that the poller shares with work started elsewhere: a poll claims no more
	// items than the semaphore has free places, so the poller and that other work
	// together never exceed its capacity. Nil: the poller's own.
	Slots chan struct{}
	// Prefetch is how many claimed items may wait for a worker (0: none, a claim asks
	// only for idle workers). A poll then claims up to Prefetch more items than it has
	// idle workers, and a worker that finishes takes a waiting item before it goes
	// idle, so workers do not sit through the next claim's round trip. An item waits
	// at most until some worker finishes; its Work must check that the item's lease
	// still covers the work (the refresh engine's callBudget does).
	Prefetch int
	Now      func() time.Time
	Logger   *slog.Logger
}

// Claim leases up to limit due items at now.
type Claim[T any] func(ctx context.Context, now time.Time, limit int) ([]T, error)

// Work processes one claimed item. ctx is cancelled only when Stop's deadline passes.
type Work[T any] func(ctx context.Context, item T)

// Poller is one claim-and-work loop. It is safe for concurrent use.
type Poller[T any] struct {
	cfg     Config
	claim   Claim[T]
	work    Work[T]
	slots   chan struct{} // one per busy worker
	pending chan T        // claimed ahead, waiting for a worker (capacity Prefetch)

	mu       sync.Mutex
	running  bool
	stop     context.CancelFunc // stops the loop
	abort    context.CancelFunc // cancels work in flight (Stop's deadline passed)
	loopDone chan struct{}
	workCtx  context.Context // the workers' context, for the items left waiting at Stop
	inFlight sync.WaitGroup

	lastPollOK  atomic.Int64 // unix nanos of the last successful claim
	pollFailing atomic.Bool
}

// New returns a stopped Poller.
func New[T any](cfg Config, claim Claim[T], work Work[T]) *Poller[T] {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	slots := cfg.Slots
	if slots == nil {
		slots = make(chan struct{}, cfg.Workers)
	}
	return &Poller[T]{cfg: cfg, claim: claim, work: work, slots: slots, pending: make(chan T, max(cfg.Prefetch, 0))}
}

// Start runs the loop in the background until Stop is called or ctx ends. Cancelling
// ctx stops the polling but lets the work in flight finish.
func (p *Poller[T]) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return fmt.Errorf("%s: already started", p.cfg.Name)
	}
	loopCtx, stop := context.WithCancel(ctx)
	workCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	p.running, p.stop, p.abort, p.loopDone, p.workCtx = true, stop, abort, make(chan struct{}), workCtx
	p.lastPollOK.Store(p.cfg.Now().UnixNano())
	go p.loop(loopCtx, workCtx, p.loopDone)
	return nil
}

// Stop stops polling and waits for the work in flight. If ctx ends first, the work's
// context is cancelled, Stop still waits for it to return, and ctx's error is returned.
func (p *Poller[T]) Stop(ctx context.Context) error {
	p.mu.Lock()
	if !p.running {
		p.mu.Unlock()
		return nil
	}
	p.running = false
	stop, abort, loopDone, workCtx := p.stop, p.abort, p.loopDone, p.workCtx
	p.mu.Unlock()

	stop()
	<-loopDone
	p.startPending(ctx, workCtx)
	idle := make(chan struct{})
	go func() { p.inFlight.Wait(); close(idle) }()
	select {
	case <-idle:
		abort()
		return nil
	case <-ctx.Done():
		abort()
		<-idle
		return fmt.Errorf("%s: stop: %w", p.cfg.Name, ctx.Err())
	}
}

// Check reports an error when claims have been failing for longer than ten poll
// intervals (at least 30s), for a readiness probe. A Poller never started is healthy.
func (p *Poller[T]) Check(context.Context) error {
	if !p.pollFailing.Load() {
		return nil
	}
	since := p.cfg.Now().Sub(time.Unix(0, p.lastPollOK.Load()))
	if since > max(10*p.cfg.PollInterval, 30*time.Second) {
		return fmt.Errorf("%s: no successful poll for %v", p.cfg.Name, since.Round(time.Second))
	}
	return nil
}

// loop polls until loopCtx ends.
func (p *Poller[T]) loop(loopCtx, workCtx context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-loopCtx.Done():
			return
		case <-timer.C:
		}
		full, err := p.poll(loopCtx, workCtx)
		wait := p.cfg.PollInterval
		switch {
		case err != nil:
			if loopCtx.Err() != nil {
				return
			}
			p.cfg.Logger.Warn(p.cfg.Name+" poll failed", "error", err)
		case full:
			wait = 0 // more may be due: poll again as soon as a worker is free
		default:
			// Spread replicas' polls: ±10%.
			wait += time.Duration((rand.Float64() - 0.5) * 0.2 * float64(wait))
		}
		timer.Reset(wait)
	}
}

// poll claims as many items as there are idle workers (waiting for at least one), and
// up to Prefetch more to wait for a worker, and hands each to a worker. Items already
// waiting go first. It reports whether more may be due at once: it claimed a full
// batch, or items are waiting.
func (p *Poller[T]) poll(loopCtx, workCtx context.Context) (full bool, err error) {
	free, err := gatherSlots(loopCtx, p.slots, p.cfg.BatchSize)
	if err != nil {
		return false, err
	}
	for ; free > 0; free-- {
		item, ok := p.next()
		if !ok {
			break
		}
		p.start(workCtx, item)
	}
	if free == 0 {
		return true, nil
	}
	// Only this loop adds to pending, so the room it sees now stays free.
	ahead := min(cap(p.pending)-len(p.pending), p.cfg.BatchSize-free)
	items, err := p.claim(loopCtx, p.cfg.Now(), free+ahead)
	if err != nil {
		for range free {
			<-p.slots
		}
		p.pollFailing.Store(true)
		return false, err
	}
	p.pollFailing.Store(false)
	p.lastPollOK.Store(p.cfg.Now().UnixNano())
	now := min(len(items), free)
	for range free - now {
		<-p.slots
	}
	for _, item := range items[:now] {
		p.start(workCtx, item)
	}
	for _, item := range items[now:] {
		p.pending <- item
	}
	return (len(items) == free+ahead && len(items) > 0) || len(p.pending) > 0, nil
}

// start works on item in a new worker, which holds one slot (taken by the caller)
// until it finds no item waiting.
func (p *Poller[T]) start(workCtx context.Context, item T) {
	p.inFlight.Add(1)
	go func() {
		defer func() { <-p.slots; p.inFlight.Done() }()
		for {
			p.work(workCtx, item)
			var ok bool
			if item, ok = p.next(); !ok {
				return
			}
		}
	}()
}

// next takes an item waiting for a worker, if any.
func (p *Poller[T]) next() (T, bool) {
	select {
	case item := <-p.pending:
		return item, true
	default:
		var zero T
		return zero, false
	}
}

// startPending hands the items still waiting when the loop stopped to workers, as
// slots free up (claimed items are worked on, not left to lapse), until ctx ends.
func (p *Poller[T]) startPending(ctx, workCtx context.Context) {
	for {
		item, ok := p.next()
		if !ok {
			return
		}
		select {
		case p.slots <- struct{}{}:
			p.start(workCtx, item)
		case <-ctx.Done():
			return // the rest lapse with their leases
		}
	}
}

// gatherWait bounds how long a poll waits for more idle workers before claiming.
const gatherWait = 2 * time.Millisecond

// gatherSlots takes idle-worker slots for the next claim: it waits for one, then, for
// up to gatherWait, for half of the workers (a claim per freed worker would cost a
// write transaction per row while all workers are busy), then takes whatever else is
// free, at most limit. It returns how many slots it holds.
func gatherSlots(ctx context.Context, slots chan struct{}, limit int) (int, error) {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	free := 1
	if want := min(limit, cap(slots)/2); free < want {
		t := time.NewTimer(gatherWait)
	wait:
		for free < want {
			select {
			case slots <- struct{}{}:
				free++
			case <-t.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		t.Stop()
	}
	for free < limit {
		select {
		case slots <- struct{}{}:
			free++
			continue
		default:
		}
		break
	}
	return free, nil
}

// Backoff is the wait before attempt+1 of a retried item: base×2^(attempt−1) capped
// at ceiling, the upper half random (u in [0,1)), at least retryAfter (the
// counterpart's own Retry-After), never above ceiling.
func Backoff(attempt int, base, ceiling, retryAfter time.Duration, u float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	d = d/2 + time.Duration(u*float64(d/2))
	return min(ceiling, max(d, retryAfter))
}
