package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/storetest"
	"github.com/linkvault/linkvault/internal/testdb"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return testdb.SQLite(t) })
}

// TestTimesRoundTripExactly: SQLite keeps nanoseconds, so times come back identical.
func TestTimesRoundTripExactly(t *testing.T) {
	db := testdb.SQLite(t)
	at := time.Date(2031, 1, 2, 3, 4, 5, 123456789, time.UTC)
	c := &linkvault.Connection{
		TokenID:            linkvault.NewTokenID(),
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "c", UserID: "u", BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
		Status:             linkvault.StatusActive,
		AccessExpiresAt:    at, RefreshExpiresAt: at.Add(1), NextCheckAt: at.Add(2), CreatedAt: at.Add(3),
	}
	if err := db.CreateConnection(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetConnection(t.Context(), "c", c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name      string
		got, want time.Time
	}{
		{"AccessExpiresAt", got.AccessExpiresAt, at},
		{"RefreshExpiresAt", got.RefreshExpiresAt, at.Add(1)},
		{"NextCheckAt", got.NextCheckAt, at.Add(2)},
		{"CreatedAt", got.CreatedAt, at.Add(3)},
	} {
		if !p.got.Equal(p.want) {
			t.Errorf("%s = %v, want exactly %v", p.name, p.got, p.want)
		}
	}
}

// TestDeletedCredentialLeavesNoTraceOnDisk proves secure_delete: after a connection is
// deleted and the WAL checkpointed, its sealed bytes appear nowhere in the files.
func TestDeletedCredentialLeavesNoTraceOnDisk(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "vault.db")
	db := testdb.SQLiteAt(t, path, sqlite.Options{})

	marker := []byte("MARKER-" + linkvault.NewRandomID(24) + "-SEALED-CREDENTIAL")
	sealed := bytes.Repeat(marker, 4) // also exercises a cell larger than the marker alone
	keep := &linkvault.Connection{
		TokenID:            linkvault.NewTokenID(),
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "c", UserID: "keep", BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
		Status:             linkvault.StatusActive, SealedCredential: []byte("other credential"),
	}
	gone := &linkvault.Connection{
		TokenID:            linkvault.NewTokenID(),
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "c", UserID: "gone", BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
		Status:             linkvault.StatusActive, SealedCredential: sealed,
	}
	for _, c := range []*linkvault.Connection{keep, gone} {
		if err := db.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint(t, db)
	if len(testdb.SQLiteFilesHolding(t, path, marker)) == 0 {
		t.Fatal("marker not found on disk before delete: the test would prove nothing")
	}

	// No explicit checkpoint here: DeleteConnection must leave nothing behind by itself.
	if err := db.DeleteConnection(ctx, "c", gone.TokenID); err != nil {
		t.Fatal(err)
	}
	if files := testdb.SQLiteFilesHolding(t, path, marker); len(files) > 0 {
		t.Fatalf("deleted sealed credential still present in the database files %v", files)
	}
	if _, err := db.GetConnection(ctx, "c", keep.TokenID); err != nil {
		t.Fatalf("surviving connection: %v", err)
	}
}

func checkpoint(t *testing.T, db *sqlite.DB) {
	t.Helper()
	if err := db.Checkpoint(t.Context()); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
}

func TestMigrationVersion(t *testing.T) {
	storetest.CheckMigrated(t, testdb.SQLite(t))
}

func TestSkipMigrations(t *testing.T) {
	ctx := t.Context()
	db := testdb.SQLiteAt(t, filepath.Join(t.TempDir(), "empty.db"), sqlite.Options{SkipMigrations: true})
	if v, err := db.MigrationVersion(ctx); err != nil || v != 0 {
		t.Fatalf("MigrationVersion of a fresh database = %d, %v; want 0", v, err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CountConnections(ctx); err != nil {
		t.Fatalf("after Migrate: %v", err)
	}
}

func BenchmarkGetConnection(b *testing.B) {
	storetest.BenchmarkGetConnection(b, testdb.SQLite(b))
}

// TestTwoProcessesWriteWithoutBusyErrors opens the same file twice (as `linkvault serve`
// and a CLI command would) and writes from both at once: IMMEDIATE transactions and the
// busy timeout make them queue instead of failing with SQLITE_BUSY.
func TestTwoProcessesWriteWithoutBusyErrors(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := testdb.SQLiteAt(t, path, sqlite.Options{})
	b := testdb.SQLiteAt(t, path, sqlite.Options{})

	const perWriter, writersPerDB = 25, 4
	errs := make(chan error, 2*writersPerDB)
	var wg sync.WaitGroup
	for _, db := range []*sqlite.DB{a, b} {
		for range writersPerDB {
			wg.Go(func() {
				for range perWriter {
					c := &linkvault.Connection{
						TokenID:            linkvault.NewTokenID(),
						ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "c", UserID: linkvault.NewRandomID(8), BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
						Status:             linkvault.StatusActive,
						NextCheckAt:        time.Unix(1, 0),
					}
					if err := db.CreateConnection(ctx, c); err != nil {
						errs <- err
						return
					}
					if _, err := db.ClaimDueConnections(ctx, time.Unix(2, 0), "w", time.Unix(3, 0), 2); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := a.CountConnections(ctx); err != nil || n != 2*writersPerDB*perWriter {
		t.Fatalf("CountConnections = %d, %v; want %d", n, err, 2*writersPerDB*perWriter)
	}
}

func TestDatabaseFilesArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	db := testdb.SQLiteAt(t, path, sqlite.Options{})
	if err := db.CreateClient(context.Background(), &linkvault.Client{ID: "c", Name: "c"}); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group/other access", filepath.Base(path+suffix), mode)
		}
	}
}

func TestBackupIsAConsistentPrivateCopy(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	if err := db.CreateClient(ctx, &linkvault.Client{ID: "c1", Name: "c1"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, out); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("backup mode %v is readable by others", fi.Mode().Perm())
	}
	restored := testdb.SQLiteAt(t, out, sqlite.Options{})
	if _, err := restored.GetClient(ctx, "c1"); err != nil {
		t.Fatalf("backup lacks the client: %v", err)
	}
}

// TestFixtureRoundTrip writes the upgrade fixture and reads it back, so the check that
// TestUpgradeFromVersion4 runs on old rows is proven against the current writes too.
func TestFixtureRoundTrip(t *testing.T) {
	db := testdb.SQLiteAt(t, filepath.Join(t.TempDir(), "fixture.db"), sqlite.Options{Now: storetest.FixtureNow})
	storetest.Populate(t, db)
	storetest.CheckFixture(t, db)
}

// TestUpgradeFromVersion4 loads rows written by the store code of migration version 4
// (testdata/fixture-v4.sql, see its header) into a database created by the migrations
// of that version, upgrades it the way Open does, and reads every row back.
func TestUpgradeFromVersion4(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	db := testdb.SQLiteAt(t, path, sqlite.Options{SkipMigrations: true})
	storetest.CheckUpgrade(t, db, func(ctx context.Context, script string) error {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			return err
		}
		defer raw.Close()
		_, err = raw.ExecContext(ctx, script)
		return err
	}, 4, "testdata/fixture-v4.sql")
}

// TestLockedDatabaseIsUnavailable: a database file another process keeps locked beyond
// the busy timeout is an outage (linkvault.ErrUnavailable: a retryable 503 with
// Retry-After), not an internal error (issue 13, defect 6).
func TestLockedDatabaseIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "locked.db")
	db := testdb.SQLiteAt(t, path, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	c := &linkvault.Connection{
		TokenID:            linkvault.NewTokenID(),
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "c", UserID: "u", BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
		Status:             linkvault.StatusActive,
	}
	err = db.CreateConnection(ctx, c)
	if !linkvault.IsUnavailable(err) {
		t.Fatalf("CreateConnection on a locked database = %v (type %s), want ErrUnavailable", err, linkvault.ErrorType(err))
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateConnection(ctx, c); err != nil {
		t.Fatalf("CreateConnection after the lock: %v", err)
	}
}
