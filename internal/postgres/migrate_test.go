package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/testdb"
)

// TestReplicasMigrateTogether starts several stores on one empty schema at once: the
// advisory lock lets exactly one migrate and the others find the schema current.
func TestReplicasMigrateTogether(t *testing.T) {
	dsn := testdb.PostgresDSN(t) // a fresh, empty schema
	ctx := context.Background()

	const replicas = 4
	dbs := make([]*postgres.DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(ctx, dsn, postgres.Options{}) })
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		defer dbs[i].Close()
	}
	v, err := dbs[0].MigrationVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := dbs[0].LatestMigrationVersion(ctx)
	if err != nil || v != latest {
		t.Fatalf("version %d, latest %d (%v)", v, latest, err)
	}
}
