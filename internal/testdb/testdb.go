// Package testdb opens fresh, migrated stores for tests: a SQLite file in the test's
// temporary directory, or a schema of its own in the PostgreSQL database named by
// LINKVAULT_TEST_POSTGRES_DSN. It is a test kit: production code never imports it (a
// dependency test keeps it out of the linkvault binary).
package testdb

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/sqlite"
)

// PostgresDSNEnv names the environment variable holding the DSN of a PostgreSQL
// database that tests may create and drop schemas in. scripts/test sets it when a
// server answers on 127.0.0.1:5432.
const PostgresDSNEnv = "LINKVAULT_TEST_POSTGRES_DSN"

// SQLite opens a migrated database in a fresh temporary directory, closed when the test
// ends.
func SQLite(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return SQLiteAt(tb, filepath.Join(tb.TempDir(), "linkvault.db"), sqlite.Options{})
}

// SQLiteAt opens the database file at path with opts, closed when the test ends.
func SQLiteAt(tb testing.TB, path string, opts sqlite.Options) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatalf("testdb.SQLite: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("testdb.SQLite: close: %v", err)
		}
	})
	return db
}

// SQLiteFilesHolding lists the files of the SQLite database at path, the database file
// and its -wal file (by base name), whose bytes contain b: what a reader of the disk,
// not of the tables, would find.
func SQLiteFilesHolding(tb testing.TB, path string, b []byte) []string {
	tb.Helper()
	var found []string
	for _, p := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		if bytes.Contains(data, b) {
			found = append(found, filepath.Base(p))
		}
	}
	return found
}

// Postgres opens a migrated store in a fresh schema of the test database, dropped when
// the test ends. It skips the test when LINKVAULT_TEST_POSTGRES_DSN is unset.
func Postgres(tb testing.TB) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), PostgresDSN(tb), postgres.Options{})
	if err != nil {
		tb.Fatalf("testdb.Postgres: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// SkipWithoutPostgres skips the test, with a message saying how to run it, when
// LINKVAULT_TEST_POSTGRES_DSN is unset; otherwise it returns the DSN.
func SkipWithoutPostgres(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		tb.Skip("SKIPPED (PostgreSQL): " + PostgresDSNEnv + " is unset, so this test has no PostgreSQL server to run on. " +
			"scripts/test sets it when a server answers on 127.0.0.1:5432; elsewhere set it, e.g. " +
			PostgresDSNEnv + "=postgres://postgres@127.0.0.1:5432/linkvault_test?sslmode=disable")
	}
	return dsn
}

// PostgresDSN creates a fresh, empty schema in the test database and returns a DSN
// selecting it (search_path); the schema is dropped when the test ends, after cleanups
// registered later (such as closing stores opened on it) have run. It skips the test
// when LINKVAULT_TEST_POSTGRES_DSN is unset. For tests that start other processes.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := SkipWithoutPostgres(tb)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		// Set but unusable is a failure, never a skip: a broken setup must not pass as
		// "skipped". The DSN itself is not printed (it may hold a password).
		tb.Fatalf("testdb: %s is set but connecting to it failed (is the server up and the database created?): %v", PostgresDSNEnv, err)
	}
	schema := "lvtest_" + strings.ToLower(strings.NewReplacer("-", "_").Replace(linkvault.NewRandomID(9)))
	quoted := pgx.Identifier{schema}.Sanitize()
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+quoted); err != nil {
		_ = admin.Close(ctx)
		tb.Fatalf("testdb: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+quoted+` CASCADE`); err != nil {
			tb.Errorf("testdb: drop schema %s: %v", schema, err)
		}
		_ = admin.Close(ctx)
	})
	return dsnWithSearchPath(dsn, schema)
}

// dsnWithSearchPath returns dsn with search_path set to schema, in either DSN syntax.
func dsnWithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
