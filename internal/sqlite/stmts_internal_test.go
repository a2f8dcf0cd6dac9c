package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/linkvault/linkvault/internal/sqlstore"
)

// A write transaction's statement is prepared once, after the first transaction that
// ran it, and reused by the next ones with the same results.
func TestWriteTransactionsReusePreparedStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "lv.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const q = `SELECT count(*) FROM link_sessions WHERE client_id = $1`
	for i := range 3 {
		err := db.engine.InTx(ctx, func(tx sqlstore.Querier) error {
			var n int
			if err := tx.QueryRow(ctx, q, "nobody").Scan(&n); err != nil || n != 0 {
				t.Errorf("transaction %d: %d, %v", i, n, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		db.engine.stmts.mu.Lock()
		_, cached := db.engine.stmts.byQuery[q]
		db.engine.stmts.mu.Unlock()
		if !cached {
			t.Errorf("after transaction %d the statement is not prepared", i)
		}
	}
}
