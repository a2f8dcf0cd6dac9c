package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/sqlstore"
)

// TestExecBatchIsOneTransaction: the statements of one ExecBatch (the group commit's
// round trip, internal/sqlstore) commit together or not at all: a failing statement
// rolls back the ones before it, and the pooled connection stays usable.
func TestExecBatchIsOneTransaction(t *testing.T) {
	dsn := os.Getenv("LINKVAULT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("LINKVAULT_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e := newEngine(pool)
	// Quoted: a random ID can hold "-", which an unquoted identifier cannot.
	table := pgx.Identifier{"exec_batch_" + linkvault.NewRandomID(6)}.Sanitize()
	if _, err := pool.Exec(ctx, `CREATE TABLE `+table+` (id integer PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := pool.Exec(context.Background(), `DROP TABLE `+table); err != nil {
			t.Error(err)
		}
	}()
	insert := func(id int) sqlstore.Stmt {
		return sqlstore.Stmt{Query: `INSERT INTO ` + table + ` (id) VALUES ($1)`, Args: []any{id}}
	}
	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if _, err := e.ExecBatch(ctx, []sqlstore.Stmt{insert(1), insert(2), insert(1)}); !e.IsUniqueViolation(err) {
		t.Fatalf("batch with a duplicate key: %v, want a unique violation", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d rows after a failed batch, want 0 (its earlier statements rolled back)", n)
	}
	rows, err := e.ExecBatch(ctx, []sqlstore.Stmt{insert(1), insert(2),
		{Query: `UPDATE ` + table + ` SET id = 4 WHERE id = $1`, Args: []any{3}}})
	if err != nil || len(rows) != 3 || rows[0] != 1 || rows[1] != 1 || rows[2] != 0 {
		t.Fatalf("batch = %v, %v; want [1 1 0]", rows, err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d rows after the batch, want 2", n)
	}
}
