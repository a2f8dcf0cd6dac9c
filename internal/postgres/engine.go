package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/linkvault/linkvault/internal/sqlstore"
)

// engine is PostgreSQL's side of the sqlstore seam: one pgx pool for reads and writes,
// row locks where replicas race (claims skip rows another replica holds), advisory
// transaction locks, and SQLSTATE classification.
type engine struct {
	pool *pgxpool.Pool
	q    sqlstore.Querier // pgQuerier{pool}, boxed once
}

func newEngine(pool *pgxpool.Pool) *engine { return &engine{pool: pool, q: pgQuerier{pool}} }

func (e *engine) Name() string            { return "postgres" }
func (e *engine) Read() sqlstore.Querier  { return e.q }
func (e *engine) Write() sqlstore.Querier { return e.q }
func (e *engine) SkipLocked() string      { return " FOR UPDATE SKIP LOCKED" }
func (e *engine) ForUpdate() string       { return " FOR UPDATE" }

// Lock takes a transaction-scoped advisory lock on a 64-bit hash of key.
func (e *engine) Lock(ctx context.Context, tx sqlstore.Querier, key string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	return err
}

// InTx runs fn in a transaction and commits if fn returns nil; otherwise it rolls back
// and returns fn's error unchanged.
func (e *engine) InTx(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(pgQuerier{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ExecBatch runs stmts in one round trip (a pgx batch: one pipeline ending in one Sync,
// which PostgreSQL runs as one implicit transaction, committed at the Sync) and returns
// the rows each changed. A failed statement rolls back all of them. It answers only
// after the commit (the Sync's ReadyForQuery, read by Close).
func (e *engine) ExecBatch(ctx context.Context, stmts []sqlstore.Stmt) ([]int64, error) {
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(s.Query, s.Args...)
	}
	br := e.pool.SendBatch(ctx, b)
	rows := make([]int64, len(stmts))
	for i := range stmts {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return nil, err
		}
		rows[i] = tag.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	return rows, nil
}

// ScanTime reads a timestamptz column into *t without boxing it.
func (e *engine) ScanTime(t *time.Time) any { return (*pgTime)(t) }

// pgTime scans a timestamptz column (NULL: the zero time) through pgx's binary plan.
type pgTime time.Time

func (p *pgTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*p = pgTime{}
	} else {
		*p = pgTime(v.Time.UTC())
	}
	return nil
}

// SQLSTATE codes the store maps to domain errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation.
func (e *engine) IsUniqueViolation(err error) bool { return hasCode(err, codeUniqueViolation) }

// IsForeignKeyViolation reports whether err is a FOREIGN KEY violation.
func (e *engine) IsForeignKeyViolation(err error) bool { return hasCode(err, codeForeignKeyViolation) }

// IsUnavailable reports whether err means the server did not answer: a connection that
// could not be made or was cut (network errors, EOF, pgconn.ConnectError), a timeout, or a server that refuses work while it shuts down, starts, recovers
// or is out of connections (SQLSTATE classes 08, 57P, 53; lock and statement timeouts).
func (e *engine) IsUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources (too many connections, disk full)
			pgErr.Code == "57P01",               // admin_shutdown
			pgErr.Code == "57P02",               // crash_shutdown
			pgErr.Code == "57P03",               // cannot_connect_now (starting up, recovering)
			pgErr.Code == "57014",               // query_canceled (statement_timeout)
			pgErr.Code == "55P03":               // lock_not_available (lock_timeout)
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || pgconn.SafeToRetry(err)
}

// pgQuerier runs statements on a pgx pool or transaction. pgx reports a missing row as
// pgx.ErrNoRows, which wraps sql.ErrNoRows as sqlstore expects.
type pgQuerier struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (p pgQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (p pgQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := p.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (p pgQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return p.q.QueryRow(ctx, query, args...)
}

// pgRows gives pgx.Rows the Close of database/sql (reporting the result's error).
type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}
