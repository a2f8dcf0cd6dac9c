package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/linkvault/linkvault/internal/storetest"
)

// TestUpgradeFromVersion4 loads rows written by the store code of migration version 4
// (testdata/fixture-v4.sql, see its header) into a database created by the migrations
// of that version, migrates it to the latest version the way Open does, and reads every
// row back through the current store.
func TestUpgradeFromVersion4(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "v4.db"), Options{SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := db.newMigrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatalf("migrate to version 4: %v", err)
	}
	rows, err := os.ReadFile("testdata/fixture-v4.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.writer.ExecContext(ctx, string(rows)); err != nil {
		t.Fatalf("load the version 4 rows: %v", err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if v, err := db.MigrationVersion(ctx); err != nil || v < 4 {
		t.Fatalf("version after upgrade = %d, %v", v, err)
	}
	storetest.CheckFixture(t, db)
}
