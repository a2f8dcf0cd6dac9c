package postgres

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestDSNWithSearchPath(t *testing.T) {
	tests := []struct {
		dsn, want string
	}{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=s1"},
		{"postgres://u@h/db?search_path=old", "postgres://u@h/db?search_path=s1"},
		{"host=h user=u dbname=db", "host=h user=u dbname=db search_path=s1"},
	}
	for _, tt := range tests {
		got := dsnWithSearchPath(tt.dsn, "s1")
		if got != tt.want {
			t.Errorf("dsnWithSearchPath(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
		cfg, err := pgconn.ParseConfig(got)
		if err != nil {
			t.Errorf("ParseConfig(%q): %v", got, err)
			continue
		}
		if cfg.RuntimeParams["search_path"] != "s1" {
			t.Errorf("%q: search_path = %q, want s1", got, cfg.RuntimeParams["search_path"])
		}
	}
}

// TestReplicasMigrateTogether starts several stores on one empty schema at once: the
// advisory lock lets exactly one migrate and the others find the schema current.
func TestReplicasMigrateTogether(t *testing.T) {
	dsn := os.Getenv(TestDSNEnv)
	if dsn == "" {
		t.Skip("PostgreSQL tests skipped: set " + TestDSNEnv)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	const schema = "lvtest_replicas_migrate"
	quoted := pgx.Identifier{schema}.Sanitize()
	if _, err := admin.Exec(ctx, `DROP SCHEMA IF EXISTS `+quoted+` CASCADE; CREATE SCHEMA `+quoted); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(ctx, `DROP SCHEMA `+quoted+` CASCADE`)

	const replicas = 4
	dbs := make([]*DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, dsnWithSearchPath(dsn, schema), Options{}) })
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
