package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// OpenTestDB opens a migrated database in a fresh temporary directory, closed when the
// test ends. For other packages' tests.
func OpenTestDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "linkvault.db"), Options{})
	if err != nil {
		tb.Fatalf("sqlite.OpenTestDB: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("sqlite.OpenTestDB: close: %v", err)
		}
	})
	return db
}
