package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// withTx runs fn in a transaction and commits if fn returns nil; otherwise it rolls
// back and returns fn's error unchanged, so *linkvault.Error values reach the caller as
// they are.
func (db *DB) withTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// nullTimeToDB encodes an optional time: NULL for the zero time.
func nullTimeToDB(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// timeFromDB normalises a time read from a timestamptz column to UTC.
func timeFromDB(t time.Time) time.Time { return t.UTC() }

// nullTimeFromDB decodes an optional timestamptz: NULL is the zero time.
func nullTimeFromDB(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
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

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUniqueViolation(err error) bool { return hasCode(err, codeUniqueViolation) }

// isForeignKeyViolation reports whether err is a FOREIGN KEY violation.
func isForeignKeyViolation(err error) bool { return hasCode(err, codeForeignKeyViolation) }

// isNoRows reports whether a single-row query found nothing.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
