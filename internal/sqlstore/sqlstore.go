// Package sqlstore is the one implementation of every linkvault table, written once
// for both database engines. internal/sqlite and internal/postgres open their engine
// (connections, pragmas, pools) and hand it to New as an Engine, the small seam where
// the engines differ, and run their migrations directory through a Migrator. Everything else (the SQL, the mapping between rows and
// domain records, the domain errors) is here, so both stores give the same answers and
// the same errors by construction, and the conformance suite (internal/storetest)
// checks it against both.
//
// The SQL is the common dialect of SQLite 3.35+ and PostgreSQL 12+: $1-style
// parameters (modernc.org/sqlite binds $N to the N-th argument, and a parameter may
// repeat), RETURNING, ON CONFLICT, CTEs marked MATERIALIZED. Where the engines really
// differ, the Engine says how: the row-locking clause of a claim (FOR UPDATE SKIP LOCKED
// on PostgreSQL, nothing on SQLite, whose single writer connection serialises claims),
// a transaction-scoped lock, and the classification of constraint errors.
//
// Column encodings differ per engine and stay in the engines: SQLite stores times as
// INTEGER unix nanoseconds and JSON as TEXT; PostgreSQL uses timestamptz and json.
// Code here passes time.Time (or nil for an unset optional time, see nullTime) and
// JSON as a string, and scans a time column through s.t, the engine's destination.
//
// # Adding a table
//
//  1. A migration in both internal/sqlite/migrations and internal/postgres/migrations
//     with the same number (INTEGER unix nanoseconds / timestamptz, TEXT / json,
//     BLOB / bytea). Never edit a migration that has shipped: add a new one.
//  2. The record type in the domain package (package linkvault, stdlib only), and the
//     narrow interface in the service package that uses it.
//  3. A file here with the methods, one statement per operation where it can be, reads
//     on e.Read(), single writes on e.Write(), multi-statement writes in inTx; claims of
//     work put e.SkipLocked() after their SELECT.
//  4. Conformance tests in internal/storetest; the service's interface goes into
//     storetest.Store, so both stores must implement it to compile into the suite.
//     storetest's upgrade fixture describes the tables as of migration 4 and must keep
//     reading fixture-v4.sql; a migration that changes how existing rows are stored
//     comes with a new fixture dump taken before it.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
)

// Querier runs statements on a connection pool or inside a transaction. The engines
// implement it over database/sql (SQLite) and pgx (PostgreSQL).
type Querier interface {
	// Exec runs a statement and returns the number of rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a statement that returns rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a statement that returns at most one row; Scan reports a missing
	// row as an error wrapping sql.ErrNoRows.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is one result row.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set; Close must be called.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Engine is a database engine: its connections and the few places where its SQL
// differs. Implemented by internal/sqlite and internal/postgres.
type Engine interface {
	// Name prefixes internal error messages ("sqlite", "postgres").
	Name() string
	// Read runs reads. On SQLite it is the pool of read-only connections.
	Read() Querier
	// Write runs single-statement writes, each its own transaction. On SQLite it is the
	// single writer connection.
	Write() Querier
	// InTx runs fn in one write transaction and commits if fn returns nil; otherwise
	// it rolls back and returns fn's error unchanged.
	InTx(ctx context.Context, fn func(tx Querier) error) error
	// SkipLocked is appended to the SELECT that picks the rows a claim leases, so that
	// concurrent claimers pass over each other's rows (" FOR UPDATE SKIP LOCKED" on
	// PostgreSQL; "" where one writer serialises claims).
	SkipLocked() string
	// ForUpdate is appended to a SELECT inside InTx that reads a row the transaction
	// then decides to change (" FOR UPDATE" on PostgreSQL; "" on SQLite).
	ForUpdate() string
	// Lock serialises the transactions that take the same key until they end (an
	// advisory transaction lock on PostgreSQL; nothing where transactions are serial).
	Lock(ctx context.Context, tx Querier, key string) error
	// IsUniqueViolation reports a UNIQUE or PRIMARY KEY constraint failure.
	IsUniqueViolation(err error) bool
	// IsForeignKeyViolation reports a FOREIGN KEY constraint failure.
	IsForeignKeyViolation(err error) bool
	// IsUnavailable reports that the database did not answer: it refused or cut the
	// connection, is shutting down or restarting, is locked by another process beyond
	// the busy timeout, or the call ran out of time. The store answers these with
	// linkvault.ErrUnavailable (a retryable 503), never an internal error.
	IsUnavailable(err error) bool
	// ScanTime returns a Scan destination that reads a time column into *t, in UTC,
	// NULL as the zero time. (Time arguments are passed as time.Time; the engine's
	// Querier encodes them.)
	ScanTime(t *time.Time) any
}

// Store implements every store method of linkvault over an Engine.
type Store struct {
	e       Engine
	now     func() time.Time
	links   groupCommit[linkWrite]        // Link session creations (link.go)
	updates groupCommit[connectionUpdate] // connection updates (connections.go)
}

// New returns the store over e. now is the clock of the timestamps the store sets
// itself (CreatedAt defaults, UpdatedAt); nil means time.Now.
func New(e Engine, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{e: e, now: now}
}

// t is the Scan destination of a time column read into *dst.
func (s *Store) t(dst *time.Time) any { return s.e.ScanTime(dst) }

// errorf wraps an unexpected database error for the operation op; these never reach a
// client (they become a serverFailure). The one exception is decided here for every
// table: a database that did not answer (Engine.IsUnavailable, or the caller's
// deadline) becomes linkvault.ErrUnavailable, which callers answer as a retryable 503.
func (s *Store) errorf(op string, err error) error {
	wrapped := fmt.Errorf("%s: %s: %w", s.e.Name(), op, err)
	if s.unavailable(err) {
		return linkvault.ErrUnavailable(wrapped)
	}
	return wrapped
}

// unavailable reports whether err means the database did not answer.
func (s *Store) unavailable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || s.e.IsUnavailable(err)
}

// wrap passes *linkvault.Error values (notFound, conflict) through unchanged and wraps
// anything else with errorf.
func (s *Store) wrap(op string, err error) error {
	if err == nil || isDomain(err) {
		return err
	}
	return s.errorf(op, err)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// exists reports whether query (a SELECT 1 ...) finds a row.
func exists(ctx context.Context, q Querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args...).Scan(&one)
	if isNoRows(err) {
		return false, nil
	}
	return err == nil, err
}

// queryAll runs query on q and scans every row with scan.
func queryAll[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return nil, err
	}
	return out, rows.Close()
}

// one scans a single-row read: notFound() when there is no row, other errors wrapped
// for op.
func one[T any](s *Store, op string, notFound func() *linkvault.Error, scan func(Row) (T, error), row Row) (T, error) {
	v, err := scan(row)
	if isNoRows(err) {
		return v, notFound()
	}
	if err != nil {
		return v, s.errorf(op, err)
	}
	return v, nil
}

// The notFound answers of single-row reads, made only when the row is missing.
func clientNotFound() *linkvault.Error      { return linkvault.ErrNotFound("Client") }
func apiKeyNotFound() *linkvault.Error      { return linkvault.ErrNotFound("API key") }
func dataKeyNotFound() *linkvault.Error     { return linkvault.ErrNotFound("Data key") }
func connectionNotFound() *linkvault.Error  { return linkvault.ErrNotFound("Connection") }
func linkSessionNotFound() *linkvault.Error { return linkvault.ErrNotFound("Link session") }
func transferNotFound() *linkvault.Error    { return linkvault.ErrNotFound("Transfer") }

// missingOrConflict tells why a compare-and-swap write changed no row: notFound when
// the row (selected by the SELECT 1 query) is gone, conflict when it is there but no
// longer in the expected state.
func (s *Store) missingOrConflict(ctx context.Context, q Querier, notFound, conflict error, query string, args ...any) error {
	found, err := exists(ctx, q, query, args...)
	switch {
	case err != nil:
		return err
	case !found:
		return notFound
	}
	return conflict
}
