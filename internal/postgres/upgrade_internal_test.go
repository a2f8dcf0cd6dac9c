package postgres

import (
	"context"
	"testing"

	"github.com/linkvault/linkvault/internal/storetest"
)

// TestUpgradeFromVersion4 loads rows written by the store code of migration version 4
// (testdata/fixture-v4.sql, see its header) into a schema created by the migrations of
// that version, upgrades it the way Open does, and reads every row back.
func TestUpgradeFromVersion4(t *testing.T) {
	db, err := Open(t.Context(), TestSchemaDSN(t), Options{SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	storetest.CheckUpgrade(t, db, func(ctx context.Context, script string) error {
		_, err := db.pool.Exec(ctx, script)
		return err
	}, 4, "testdata/fixture-v4.sql")
}
