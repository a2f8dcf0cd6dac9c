package api_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // read-only view of the server's PostgreSQL schema
	_ "modernc.org/sqlite"             // read-only view of the server's SQLite file

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/testdb"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// storeRun is one running binary and a second connection to its database, for tests
// that look at what the server stored.
type storeRun struct {
	store string // "sqlite" or "postgres"
	env   *e2etest.Env
	db    *sql.DB
}

// forEachStoreEnv starts the binary with extra LINKVAULT_* variables on SQLite and,
// when LINKVAULT_TEST_POSTGRES_DSN is set, on PostgreSQL (each in a fresh database),
// and runs test against each, in that order.
func forEachStoreEnv(t *testing.T, vars map[string]string, test func(t *testing.T, run *storeRun)) {
	t.Helper()
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	t.Run("sqlite", func(t *testing.T) {
		env := e2etest.Start(t, e2etest.Options{Env: vars})
		db, err := sql.Open("sqlite", "file:"+filepath.Join(env.Dir, "linkvault.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		test(t, &storeRun{store: "sqlite", env: env, db: db})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testdb.PostgresDSN(t)
		env := e2etest.Start(t, e2etest.Options{Env: vars, PostgresDSN: dsn})
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		test(t, &storeRun{store: "postgres", env: env, db: db})
	})
}

// clientA is an API client of client A with one of its secrets.
func (run *storeRun) clientA(t *testing.T, secret string) *lvclient.Client {
	t.Helper()
	c, err := lvclient.New(run.env.URL(), run.env.ClientA.ID, secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connectFrank connects a Coinbase account for user "frank" of client A with the read
// key and with the write key, and returns the two tokenIds.
func (run *storeRun) connectFrank(t *testing.T) (readTok, writeTok string) {
	t.Helper()
	readTok = connect(t, run.clientA(t, run.env.ClientA.ReadSecret), "frank", lvclient.Coinbase)
	writeTok = connect(t, run.clientA(t, run.env.ClientA.WriteSecret), "frank", lvclient.Coinbase)
	return readTok, writeTok
}

// tables lists the application's tables (goose's bookkeeping excluded).
func (run *storeRun) tables(t *testing.T) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'goose%' ORDER BY name`
	if run.store == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'goose%' ORDER BY 1`
	}
	tables := testdb.Strings(t, run.db, q)
	if len(tables) < 8 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	return tables
}

// snapshot digests every row of every table: its row count and a hash of the sorted
// rows (sorted, since PostgreSQL returns rows in no fixed order).
func (run *storeRun) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range run.tables(t) {
		r, err := run.db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		var lines []string
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		r.Close()
		slices.Sort(lines)
		h := sha256.New()
		for _, l := range lines {
			_, _ = fmt.Fprintln(h, l) // a hash.Hash's Write never fails
		}
		out[table] = fmt.Sprintf("%d rows %s", len(lines), hex.EncodeToString(h.Sum(nil))[:16])
	}
	return out
}

// settledSnapshot waits until two snapshots agree (the audit log is written in the
// background, a moment after the answer).
func (run *storeRun) settledSnapshot(t *testing.T) map[string]string {
	t.Helper()
	prev := run.snapshot(t)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		cur := run.snapshot(t)
		if fmt.Sprint(cur) == fmt.Sprint(prev) {
			return cur
		}
		prev = cur
	}
	t.Fatal("the database never settled")
	return nil
}

func sameTables(t *testing.T, before, after map[string]string, except map[string]bool) bool {
	t.Helper()
	same := true
	for table, digest := range before {
		if !except[table] && after[table] != digest {
			t.Errorf("table %s changed: %s -> %s", table, digest, after[table])
			same = false
		}
	}
	return same
}
