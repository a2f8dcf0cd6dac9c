package postgres_test

import (
	"os"
	"testing"

	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/storetest"
)

func TestConformance(t *testing.T) {
	if os.Getenv(postgres.TestDSNEnv) == "" {
		t.Skip("PostgreSQL conformance skipped: set " + postgres.TestDSNEnv + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	storetest.Run(t, func(t *testing.T) storetest.Store { return postgres.OpenTestDB(t) })
}

func TestMigrationVersion(t *testing.T) {
	storetest.CheckMigrated(t, postgres.OpenTestDB(t))
}

func BenchmarkGetConnection(b *testing.B) {
	storetest.BenchmarkGetConnection(b, postgres.OpenTestDB(b))
}

// TestFixtureRoundTrip writes the upgrade fixture and reads it back, so the check that
// TestUpgradeFromVersion4 runs on old rows is proven against the current writes too.
func TestFixtureRoundTrip(t *testing.T) {
	db, err := postgres.Open(t.Context(), postgres.TestSchemaDSN(t), postgres.Options{Now: storetest.FixtureNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	storetest.Populate(t, db)
	storetest.CheckFixture(t, db)
}
