package testdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/sqlite"
)

// Intruder is a raw SQL connection to a store's database, outside linkvault: what a
// database writer without the master key holds. Tests tamper with rows through it.
// Statements use $1-style placeholders, which both engines accept.
type Intruder struct {
	tb testing.TB
	db *sql.DB
}

// Exec runs a statement and returns how many rows it changed; it fails the test on error.
func (i *Intruder) Exec(query string, args ...any) int64 {
	i.tb.Helper()
	res, err := i.db.ExecContext(context.Background(), query, args...)
	if err != nil {
		i.tb.Fatalf("intruder: %s: %v", query, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		i.tb.Fatal(err)
	}
	return n
}

// SQLiteWithIntruder is SQLite with an Intruder on the same file.
func SQLiteWithIntruder(tb testing.TB) (*sqlite.DB, *Intruder) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "linkvault.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		tb.Fatalf("testdb.SQLite: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db, openIntruder(tb, "sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
}

// PostgresWithIntruder is Postgres with an Intruder on the same schema. It skips the
// test when LINKVAULT_TEST_POSTGRES_DSN is unset.
func PostgresWithIntruder(tb testing.TB) (*postgres.DB, *Intruder) {
	tb.Helper()
	dsn := PostgresDSN(tb)
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		tb.Fatalf("testdb.Postgres: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db, openIntruder(tb, "pgx", dsn)
}

func openIntruder(tb testing.TB, driver, dsn string) *Intruder {
	tb.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = raw.Close() })
	return &Intruder{tb: tb, db: raw}
}

// DB is the raw connection, for tests that read every table as an intruder would.
func (i *Intruder) DB() *sql.DB { return i.db }
