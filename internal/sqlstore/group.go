package sqlstore

import (
	"context"
	"slices"
	"sync"
	"time"
)

// groupCommit lets concurrent callers share write transactions (group commit): each
// caller queues its write and waits; a writer goroutine, started when the queue fills
// from empty, runs what is queued in one transaction, one caller's statements after the
// other, answers every caller once that transaction committed (or failed), and goes on
// until the queue is empty. Nothing waits for a batch to fill: a transaction takes what
// queued while the previous one committed, so a lone caller pays only the hand-over to
// the writer, and under load the commits (a WAL append on SQLite, a WAL flush on
// PostgreSQL) and their round trips are shared.
//
// A caller's write reports two things: its own result (a domain error such as a
// conflict, which leaves the transaction usable and fails that caller only) and an
// error that aborts the transaction. When a transaction of several writes fails for a
// reason other than an unavailable database, each write is run again in a transaction
// of its own, so one caller's failure (a constraint, a deadlock) is never another's.
type groupCommit[W any] struct {
	mu      sync.Mutex
	queue   []*groupEntry[W]
	writing bool // the writer goroutine runs
}

type groupEntry[W any] struct {
	w    W
	ctx  context.Context // the caller's: its deadline bounds the transaction, its end drops a write not yet started
	done chan error      // buffered: the writer never blocks
}

// groupWrite runs one caller's write inside tx; see groupCommit for its two errors.
type groupWrite[W any] func(ctx context.Context, tx Querier, w W) (result, abort error)

// maxGroup bounds the writes of one transaction.
const maxGroup = 256

// groupTimeout bounds one transaction whose callers have no later deadline.
const groupTimeout = 10 * time.Second

// commit queues w, and returns its result once the transaction carrying it ended, or
// ctx's error if ctx ends first (the write may then still be made, like a write whose
// answer was lost; one not yet started when ctx ended is dropped). order, when set,
// sorts each transaction's writes (so that transactions of different processes take
// row locks in one order). Errors of the transaction are wrapped with op.
func (g *groupCommit[W]) commit(ctx context.Context, s *Store, op string, w W, write groupWrite[W], order func(a, b W) int) error {
	e := &groupEntry[W]{w: w, ctx: ctx, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, e)
	start := !g.writing
	g.writing = true
	g.mu.Unlock()
	if start {
		go g.drain(s, op, write, order)
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		return s.wrap(op, ctx.Err())
	}
}

// drain writes queued batches, a transaction at a time, until the queue is empty.
func (g *groupCommit[W]) drain(s *Store, op string, write groupWrite[W], order func(a, b W) int) {
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		if n == 0 {
			g.writing = false
			g.mu.Unlock()
			return
		}
		batch := slices.Clone(g.queue[:n])
		g.queue = slices.Delete(g.queue, 0, n)
		g.mu.Unlock()

		batch = slices.DeleteFunc(batch, func(e *groupEntry[W]) bool {
			if err := e.ctx.Err(); err != nil {
				e.done <- s.wrap(op, err) // its caller has returned: not started, not written
				return true
			}
			return false
		})
		if order != nil {
			slices.SortStableFunc(batch, func(a, b *groupEntry[W]) int { return order(a.w, b.w) })
		}
		if len(batch) > 0 {
			g.run(s, op, batch, write)
		}
	}
}

// run writes batch in one transaction and answers its callers; see groupCommit.
func (g *groupCommit[W]) run(s *Store, op string, batch []*groupEntry[W], write groupWrite[W]) {
	timeout := groupTimeout
	for _, e := range batch {
		if d, ok := e.ctx.Deadline(); ok {
			timeout = max(timeout, time.Until(d))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	results := make([]error, len(batch))
	err := s.e.InTx(ctx, func(tx Querier) error {
		for i, e := range batch {
			res, err := write(ctx, tx, e.w)
			if err != nil {
				return err
			}
			results[i] = res
		}
		return nil
	})
	if err != nil && len(batch) > 1 && !s.unavailable(err) {
		for _, e := range batch {
			g.run(s, op, []*groupEntry[W]{e}, write)
		}
		return
	}
	for i, e := range batch {
		if err != nil {
			e.done <- s.wrap(op, err)
		} else {
			e.done <- results[i]
		}
	}
}
