package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	moderncsqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/linkvault/linkvault/internal/sqlstore"
)

// engine is SQLite's side of the sqlstore seam: the single writer connection (each
// transaction BEGIN IMMEDIATE), the read-only pool, and SQLite's answers where the SQL
// differs. With one writer, claims and transactions never overlap, so nothing needs a
// row lock.
type engine struct {
	writer *sql.DB
	read   *readQuerier
	write  sqlstore.Querier // sqlQuerier{writer}, boxed once
	stmts  *writeStmts
}

func newEngine(writer, reader *sql.DB) *engine {
	return &engine{writer: writer, read: &readQuerier{db: reader}, write: sqlQuerier{writer}, stmts: &writeStmts{}}
}

// writeStmts caches the statements write transactions run, prepared on the single
// writer connection, so a transaction reuses them instead of parsing its SQL again
// (parsing the audit log's multi-row INSERT was half of the audit writer's CPU,
// docs/benchmarks.md). A text seen for the first time runs unprepared and is prepared
// after the transaction, when the writer connection is free again (preparing through
// the pool inside the transaction would wait for the connection the transaction
// holds). The cache is bounded; texts beyond it always run unprepared.
type writeStmts struct {
	mu      sync.Mutex
	byQuery map[string]*sql.Stmt
	wanted  []string
}

const maxWriteStmts = 256

func (w *writeStmts) get(query string) *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, ok := w.byQuery[query]
	if !ok && len(w.byQuery)+len(w.wanted) < maxWriteStmts && !slices.Contains(w.wanted, query) {
		w.wanted = append(w.wanted, query)
	}
	return st
}

// prepareWanted prepares the texts transactions ran unprepared (outside any
// transaction). A failure only leaves the text unprepared.
func (w *writeStmts) prepareWanted(ctx context.Context, db *sql.DB) {
	w.mu.Lock()
	wanted := w.wanted
	w.wanted = nil
	w.mu.Unlock()
	for _, q := range wanted {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		w.mu.Lock()
		if w.byQuery == nil {
			w.byQuery = map[string]*sql.Stmt{}
		}
		if _, dup := w.byQuery[q]; dup {
			_ = st.Close()
		} else {
			w.byQuery[q] = st
		}
		w.mu.Unlock()
	}
}

func (w *writeStmts) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for q, st := range w.byQuery {
		errs = append(errs, st.Close())
		delete(w.byQuery, q)
	}
	return errors.Join(errs...)
}

// txQuerier runs a write transaction's statements, through the cached prepared
// statements where there are.
type txQuerier struct {
	tx    *sql.Tx
	stmts *writeStmts
}

func (t txQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.bind(ctx, query).ExecContext(ctx, encodeArgs(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t txQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := t.bind(ctx, query).QueryContext(ctx, encodeArgs(args)...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (t txQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return t.bind(ctx, query).QueryRowContext(ctx, encodeArgs(args)...)
}

// bind returns what runs query in the transaction: the transaction's copy of the
// cached prepared statement where there is one, the query on the transaction otherwise.
func (t txQuerier) bind(ctx context.Context, query string) boundQuery {
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	return txQuery{tx: t.tx, query: query}
}

// boundQuery is a statement with its query fixed (a *sql.Stmt or a txQuery).
type boundQuery interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

// txQuery is a query run unprepared on a transaction.
type txQuery struct {
	tx    *sql.Tx
	query string
}

func (q txQuery) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return q.tx.ExecContext(ctx, q.query, args...)
}

func (q txQuery) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return q.tx.QueryContext(ctx, q.query, args...)
}

func (q txQuery) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return q.tx.QueryRowContext(ctx, q.query, args...)
}

func (e *engine) Name() string            { return "sqlite" }
func (e *engine) Read() sqlstore.Querier  { return e.read }
func (e *engine) Write() sqlstore.Querier { return e.write }
func (e *engine) SkipLocked() string      { return "" }
func (e *engine) ForUpdate() string       { return "" }

// Lock is a no-op: write transactions run one at a time on the single writer.
func (e *engine) Lock(context.Context, sqlstore.Querier, string) error { return nil }

// InTx runs fn in a write transaction (BEGIN IMMEDIATE on the single writer connection,
// so a transaction that reads before it writes can never fail to upgrade its lock).
func (e *engine) InTx(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	tx, err := e.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer e.stmts.prepareWanted(context.WithoutCancel(ctx), e.writer)
	if err := fn(txQuerier{tx: tx, stmts: e.stmts}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func (e *engine) IsUniqueViolation(err error) bool {
	var se *moderncsqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// IsForeignKeyViolation reports whether err is a FOREIGN KEY constraint failure.
func (e *engine) IsForeignKeyViolation(err error) bool {
	var se *moderncsqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// IsUnavailable reports whether err means the database could not be used for now: the
// file is locked by another process beyond the busy timeout (SQLITE_BUSY, SQLITE_LOCKED),
// or the disk is full or failing (SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN).
func (e *engine) IsUnavailable(err error) bool {
	var se *moderncsqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary result code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}

// Times are INTEGER unix nanoseconds in this schema. The zero time.Time has no
// unix-nanosecond value; it is stored as the smallest integer, so that it compares as
// the earliest instant and reads back as the zero time.
const zeroTimeUnixNano = -1 << 63

// encodeArgs turns time.Time arguments into unix nanoseconds (in place: args is the
// variadic slice of one call).
func encodeArgs(args []any) []any {
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			if t.IsZero() {
				args[i] = int64(zeroTimeUnixNano)
			} else {
				args[i] = t.UnixNano()
			}
		}
	}
	return args
}

// ScanTime reads an INTEGER unix-nanosecond column into *t.
func (e *engine) ScanTime(t *time.Time) any { return (*nanoTime)(t) }

// nanoTime scans an INTEGER unix-nanosecond column (NULL: the zero time).
type nanoTime time.Time

func (n *nanoTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n = nanoTime{}
	case int64:
		if v == zeroTimeUnixNano {
			*n = nanoTime{}
		} else {
			*n = nanoTime(time.Unix(0, v).UTC())
		}
	default:
		return fmt.Errorf("time column holds a %T, want unix nanoseconds", src)
	}
	return nil
}

// sqlQuerier runs statements on a database/sql pool or transaction.
type sqlQuerier struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (s sqlQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, encodeArgs(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := s.q.QueryContext(ctx, query, encodeArgs(args)...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (s sqlQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return s.q.QueryRowContext(ctx, query, encodeArgs(args)...)
}

// readQuerier runs reads on the read-only pool through statements prepared once per
// query text (database/sql re-prepares them on each pool connection that runs them).
// The store's read queries are a fixed set of texts (data goes into parameters), so the
// cache stays small.
type readQuerier struct {
	db    *sql.DB
	stmts sync.Map // query -> *sql.Stmt
}

func (r *readQuerier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := r.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := r.stmts.LoadOrStore(query, s); loaded {
		_ = s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// close closes the prepared statements.
func (r *readQuerier) close() error {
	var errs []error
	r.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}

func (r *readQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return 0, errors.New("write on the read-only pool")
}

func (r *readQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	s, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(ctx, encodeArgs(args)...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (r *readQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	s, err := r.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return s.QueryRowContext(ctx, encodeArgs(args)...)
}

// errRow is a row whose Scan reports err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
