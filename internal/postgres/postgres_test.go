package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/storetest"
	"github.com/linkvault/linkvault/internal/testdb"
)

func TestConformance(t *testing.T) {
	testdb.SkipWithoutPostgres(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { return testdb.Postgres(t) })
}

func TestMigrationVersion(t *testing.T) {
	storetest.CheckMigrated(t, testdb.Postgres(t))
}

func BenchmarkGetConnection(b *testing.B) {
	storetest.BenchmarkGetConnection(b, testdb.Postgres(b))
}

// TestFixtureRoundTrip writes the upgrade fixture and reads it back, so the check that
// TestUpgradeFromVersion4 runs on old rows is proven against the current writes too.
func TestFixtureRoundTrip(t *testing.T) {
	db, err := postgres.Open(t.Context(), testdb.PostgresDSN(t), postgres.Options{Now: storetest.FixtureNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	storetest.Populate(t, db)
	storetest.CheckFixture(t, db)
}

// TestUpgradeFromVersion4 loads rows written by the store code of migration version 4
// (testdata/fixture-v4.sql, see its header) into a schema created by the migrations of
// that version, upgrades it the way Open does, and reads every row back.
func TestUpgradeFromVersion4(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	storetest.CheckUpgrade(t, db, func(ctx context.Context, script string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, script)
		return err
	}, 4, "testdata/fixture-v4.sql")
}
