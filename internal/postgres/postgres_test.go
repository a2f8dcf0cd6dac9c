package postgres_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
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
	db := postgres.OpenTestDB(t)
	got, err := db.MigrationVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	latest, err := db.LatestMigrationVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got < 1 || got != latest {
		t.Fatalf("MigrationVersion = %d, want the latest embedded version %d (>= 1)", got, latest)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

func BenchmarkGetConnection(b *testing.B) {
	ctx := context.Background()
	db := postgres.OpenTestDB(b)
	const n = 1000
	ids := make([]string, n)
	for i := range n {
		c := &linkvault.Connection{
			TokenID:            linkvault.NewTokenID(),
			ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "client", UserID: linkvault.NewRandomID(8), BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead},
			Status:             linkvault.StatusActive,
			Accounts:           []linkvault.Account{{AccountID: "a", AccountName: "Main", Fund: 1, Cash: 2}},
			SealedCredential:   bytes.Repeat([]byte{0xAB}, 300),
			AccessExpiresAt:    time.Now().Add(time.Hour),
			NextCheckAt:        time.Now().Add(50 * time.Minute),
		}
		if err := db.CreateConnection(ctx, c); err != nil {
			b.Fatal(err)
		}
		ids[i] = c.TokenID
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.GetConnection(ctx, "client", ids[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7
		}
	})
}
