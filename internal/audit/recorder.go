package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linkvault/linkvault"
)

// RecorderConfig configures a Recorder. Zero fields take the defaults.
type RecorderConfig struct {
	// QueueSize bounds the entries waiting to be written (default 8192). When it is
	// full, Record waits for room (back-pressure rather than a silently incomplete
	// trail) until its context ends.
	QueueSize int
	// BatchSize bounds the entries written in one transaction (default 256).
	BatchSize int
	// FlushDelay is how long the writer, woken by an entry, waits for more before it
	// writes a partial batch (default 5ms; negative: write at once). A transaction costs
	// far more than a row, so a short wait makes the per-entry cost small at any rate;
	// Flush and Close never wait for it.
	FlushDelay time.Duration
	// WriteTimeout bounds one batch write (default 10s).
	WriteTimeout time.Duration
	// Logger receives write failures (counts and errors, never entry contents).
	Logger *slog.Logger
}

func (c RecorderConfig) withDefaults() RecorderConfig {
	if c.QueueSize <= 0 {
		c.QueueSize = 8192
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.FlushDelay == 0 {
		c.FlushDelay = 5 * time.Millisecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Appender is what a Recorder writes to.
type Appender interface {
	AppendAudit(ctx context.Context, entries []linkvault.AuditEntry) error
}

// Recorder writes log entries in the background: Record only enqueues, and one
// goroutine writes what queued up within FlushDelay as one batch (group commit), so a
// single transaction carries many entries and the request path never waits on the
// database. Close drains the queue; call it after the HTTP server has stopped.
type Recorder struct {
	store Appender
	cfg   RecorderConfig
	queue chan item
	done  chan struct{}

	mu     sync.RWMutex // held for reading while sending, for writing by Close
	closed bool

	written, dropped, failed atomic.Int64
}

// item is an entry, or a flush marker to answer once everything before it is written.
type item struct {
	entry linkvault.AuditEntry
	flush chan error
}

// NewRecorder starts a Recorder writing to store.
func NewRecorder(store Appender, cfg RecorderConfig) *Recorder {
	cfg = cfg.withDefaults()
	r := &Recorder{store: store, cfg: cfg, queue: make(chan item, cfg.QueueSize), done: make(chan struct{})}
	go r.run()
	return r
}

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("audit: recorder closed")

// Record enqueues e. It returns at once unless the queue is full, in which case it
// waits for room until ctx ends (the entry is then dropped and counted). Entries
// recorded after Close are dropped and counted.
func (r *Recorder) Record(ctx context.Context, e linkvault.AuditEntry) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.dropped.Add(1)
		return
	}
	select {
	case r.queue <- item{entry: e}:
		return
	default:
	}
	select {
	case r.queue <- item{entry: e}:
	case <-ctx.Done():
		r.dropped.Add(1)
	}
}

// Flush waits until every entry recorded before the call is written, and returns the
// error of the last batch write, if any.
func (r *Recorder) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return ErrClosed
	}
	select {
	case r.queue <- item{flush: reply}:
		r.mu.RUnlock()
	case <-ctx.Done():
		r.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting entries and waits until the queued ones are written, or ctx
// ends. It is safe to call more than once.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RecorderStats are counters since the Recorder started.
type RecorderStats struct {
	Written int64 // entries written
	Dropped int64 // entries never queued (queue full until the request ended, or closed)
	Failed  int64 // entries lost because their batch could not be written
	Queued  int   // entries waiting now
}

// Stats returns the counters.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{
		Written: r.written.Load(), Dropped: r.dropped.Load(), Failed: r.failed.Load(), Queued: len(r.queue),
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]linkvault.AuditEntry, 0, r.cfg.BatchSize)
	var flushes []chan error
	add := func(it item) {
		if it.flush != nil {
			flushes = append(flushes, it.flush)
			return
		}
		batch = append(batch, it.entry)
	}
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for first := range r.queue {
		batch, flushes = batch[:0], flushes[:0]
		add(first)
		// Collect more for up to FlushDelay, unless someone waits for a flush.
		if r.cfg.FlushDelay > 0 && len(flushes) == 0 {
			linger.Reset(r.cfg.FlushDelay)
		collect:
			for len(batch) < r.cfg.BatchSize && len(flushes) == 0 {
				select {
				case it, ok := <-r.queue:
					if !ok {
						break collect
					}
					add(it)
				case <-linger.C:
					break collect
				}
			}
			linger.Stop()
		}
		// Take whatever else is already waiting, up to a batch.
	drain:
		for len(batch) < r.cfg.BatchSize {
			select {
			case it, ok := <-r.queue:
				if !ok {
					break drain
				}
				add(it)
			default:
				break drain
			}
		}
		err := r.write(batch)
		for _, f := range flushes {
			f <- err
		}
	}
}

// write stores one batch, trying twice; a batch that still fails is counted and lost.
func (r *Recorder) write(batch []linkvault.AuditEntry) error {
	if len(batch) == 0 {
		return nil
	}
	var err error
	for attempt := range 2 {
		if attempt > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.WriteTimeout)
		err = r.store.AppendAudit(ctx, batch)
		cancel()
		if err == nil {
			r.written.Add(int64(len(batch)))
			return nil
		}
	}
	r.failed.Add(int64(len(batch)))
	r.cfg.Logger.Error("audit log batch lost", "entries", len(batch), "error", err)
	return err
}
