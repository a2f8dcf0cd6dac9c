package postgres

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
)

// TestDSNEnv names the environment variable holding the DSN of a PostgreSQL database
// that tests may create and drop schemas in.
const TestDSNEnv = "LINKVAULT_TEST_POSTGRES_DSN"

// OpenTestDB opens a migrated store in a fresh schema of the test database, dropped
// when the test ends. It skips the test when LINKVAULT_TEST_POSTGRES_DSN is unset. For
// other packages' tests.
func OpenTestDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), TestSchemaDSN(tb), Options{})
	if err != nil {
		tb.Fatalf("postgres.OpenTestDB: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// TestSchemaDSN creates a fresh, empty schema in the test database and returns a DSN
// selecting it (search_path); the schema is dropped when the test ends, after cleanups
// registered later (such as closing stores opened on it) have run. It skips the test
// when LINKVAULT_TEST_POSTGRES_DSN is unset. For tests that start other processes.
func TestSchemaDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(TestDSNEnv)
	if dsn == "" {
		tb.Skip("PostgreSQL tests skipped: set " + TestDSNEnv + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("postgres: test schema: connect: %v", err)
	}
	schema := "lvtest_" + strings.ToLower(strings.NewReplacer("-", "_").Replace(linkvault.NewRandomID(9)))
	quoted := pgx.Identifier{schema}.Sanitize()
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+quoted); err != nil {
		_ = admin.Close(ctx)
		tb.Fatalf("postgres: test schema: create: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+quoted+` CASCADE`); err != nil {
			tb.Errorf("postgres: drop test schema %s: %v", schema, err)
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
