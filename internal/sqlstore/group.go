package sqlstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// groupCommit lets concurrent callers share write transactions (group commit): each
// caller queues its write and waits; a writer (the caller that finds the queue without
// one, then a writer goroutine it hands over to, see drain) runs what is queued in one
// transaction, one caller's statements after the other, answers every caller once that
// transaction committed (or failed), and goes on until the queue is empty. Nothing
// waits for a batch to fill: a transaction takes what queued while the previous one
// committed, so a lone caller writes its own transaction at once, and under load the
// commits (a WAL append on SQLite, a WAL flush on PostgreSQL) and their round trips are
// shared.
//
// A caller's write reports two things: its own result (a domain error such as a
// conflict, which leaves the transaction usable and fails that caller only) and an
// error that aborts the transaction. When a transaction of several writes fails for a
// reason other than an unavailable database, each write is run again in a transaction
// of its own, so one caller's failure (a constraint, a deadlock) is never another's.
//
// When every write of a batch is one statement (groupWrite.single) and the engine can
// send statements together (batchExecer: PostgreSQL's pipeline), the batch is one round
// trip instead of BEGIN, a statement per write and COMMIT.
type groupCommit[W groupWrite] struct {
	mu      sync.Mutex
	queue   []*groupEntry[W]
	writing bool // the writer goroutine runs
}

type groupEntry[W groupWrite] struct {
	w    W
	ctx  context.Context // the caller's: its deadline bounds the transaction, its end drops a write not yet started
	done chan error      // buffered: the writer never blocks
}

// groupWrite is one queued write.
type groupWrite interface {
	// write runs the write inside tx; see groupCommit for its two errors.
	write(ctx context.Context, s *Store, tx Querier) (result, abort error)
	// single returns the write as one statement when it is one (ok), with what its
	// caller is answered given the rows the statement changed, read after the commit.
	single(s *Store) (stmt Stmt, answer func(ctx context.Context, rows int64) error, ok bool)
	// key orders the writes of one transaction ("" for any order), so that transactions
	// of different processes take row locks in one order.
	key() string
}

// Stmt is one statement of a batch.
type Stmt struct {
	Query string
	Args  []any
}

// batchExecer is an Engine that runs statements in one transaction sent at once, and
// returns the rows each changed (internal/postgres: a pipeline ending in one Sync, which
// PostgreSQL runs as one implicit transaction committed at the Sync). An error rolls
// back all of them.
type batchExecer interface {
	ExecBatch(ctx context.Context, stmts []Stmt) ([]int64, error)
}

// maxGroup bounds the writes of one transaction.
const maxGroup = 256

// groupTimeout bounds one transaction whose callers have no later deadline.
const groupTimeout = 10 * time.Second

// commit queues w, and returns its result once the transaction carrying it ended, or
// ctx's error if ctx ends first (the write may then still be made, like a write whose
// answer was lost; one not yet started when ctx ended is dropped). A caller that
// writes the transaction itself (see drain) returns when that transaction ends, which
// its deadline and groupTimeout bound. Errors of the transaction are wrapped with op.
func (g *groupCommit[W]) commit(ctx context.Context, s *Store, op string, w W) error {
	e := &groupEntry[W]{w: w, ctx: ctx, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, e)
	lead := !g.writing
	g.writing = true
	g.mu.Unlock()
	if lead {
		g.drain(s, op, e)
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		return s.wrap(op, ctx.Err())
	}
}

// drain writes queued batches, a transaction at a time, until the queue is empty.
//
// The caller that finds no writer writes, in its own goroutine (own is its entry):
// a request goroutine has already grown its stack, where a new goroutine per
// transaction grew one for the database engine every time (on SQLite at one request
// at a time, stack copying was a fifth of a Link-token creation's instructions).
// Once its own write is answered and more is queued, it hands the rest to a new
// writer goroutine (own nil), which drains until the queue is empty, so no caller
// waits for writes queued after its own.
func (g *groupCommit[W]) drain(s *Store, op string, own *groupEntry[W]) {
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		if n == 0 {
			g.writing = false
			g.mu.Unlock()
			return
		}
		if own != nil && len(own.done) > 0 {
			g.mu.Unlock()
			go g.drain(s, op, nil)
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
		slices.SortStableFunc(batch, func(a, b *groupEntry[W]) int { return strings.Compare(a.w.key(), b.w.key()) })
		if len(batch) > 0 {
			g.run(s, op, batch)
		}
	}
}

// run writes batch in one transaction and answers its callers; see groupCommit.
func (g *groupCommit[W]) run(s *Store, op string, batch []*groupEntry[W]) {
	timeout := groupTimeout
	for _, e := range batch {
		if d, ok := e.ctx.Deadline(); ok {
			timeout = max(timeout, time.Until(d))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	results, err := g.pipelined(ctx, s, batch)
	if results == nil && err == nil {
		results = make([]error, len(batch))
		err = s.e.InTx(ctx, func(tx Querier) error {
			for i, e := range batch {
				res, err := e.w.write(ctx, s, tx)
				if err != nil {
					return err
				}
				results[i] = res
			}
			return nil
		})
	}
	if err != nil && len(batch) > 1 && !s.unavailable(err) {
		for _, e := range batch {
			g.run(s, op, []*groupEntry[W]{e})
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

// pipelined writes batch in one round trip when the engine can and every write is one
// statement, and returns the callers' results; nil results and no error when it cannot.
func (g *groupCommit[W]) pipelined(ctx context.Context, s *Store, batch []*groupEntry[W]) ([]error, error) {
	be, ok := s.e.(batchExecer)
	if !ok {
		return nil, nil
	}
	stmts := make([]Stmt, len(batch))
	answers := make([]func(context.Context, int64) error, len(batch))
	for i, e := range batch {
		if stmts[i], answers[i], ok = e.w.single(s); !ok {
			return nil, nil
		}
	}
	rows, err := be.ExecBatch(ctx, stmts)
	if err != nil {
		return nil, err
	}
	results := make([]error, len(batch))
	for i := range batch {
		results[i] = answers[i](ctx, rows[i])
	}
	return results, nil
}
