package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"strings"
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/sqlite"
)

// TestMigrateUpgradesUnkeyedVerifiersOnce: a database an older release wrote (schema
// version 5, API keys stored as the SHA-256 of their secret) is migrated by
// `linkvault migrate`, which re-derives those verifiers as keyed ones, so the old
// secret keeps working. An unkeyed row written afterwards (a database intruder's) is
// never upgraded by a later migrate or by the server, and does not authenticate.
func TestMigrateUpgradesUnkeyedVerifiersOnce(t *testing.T) {
	e := newCLIEnv(t)
	ctx := context.Background()
	path := e.vars["LINKVAULT_SQLITE_PATH"]
	db, err := sqlite.Open(ctx, path, sqlite.Options{SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MigrateTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	plant := func(id, secret string) {
		t.Helper()
		sum := sha256.Sum256([]byte(secret))
		if _, err := raw.Exec(`INSERT INTO api_keys (id, client_id, permission, secret_hash, created_at) VALUES ($1, 'shop', 'write', $2, 0)`, id, sum[:]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`INSERT INTO clients (id, name, webhook_url, created_at) VALUES ('shop', 'Shop', '', 0)`); err != nil {
		t.Fatal(err)
	}
	old := "lvsk_00000000000000cc_" + linkvault.NewRandomID(32)
	plant("00000000000000cc", old)

	if out := e.mustRun("migrate"); !strings.Contains(out, "schema version 5 -> ") || !strings.Contains(out, "1 API key verifiers upgraded") {
		t.Fatalf("migrate output:\n%s", out)
	}
	planted := "lvsk_00000000000000dd_" + linkvault.NewRandomID(32)
	plant("00000000000000dd", planted)
	if out := e.mustRun("migrate"); strings.Contains(out, "upgraded") {
		t.Fatalf("a second migrate upgraded verifiers:\n%s", out)
	}

	cfg := e.config(t)
	a := openApp(t, cfg)
	defer a.Close()
	if p, err := a.Clients.Authenticate(ctx, "shop", linkvault.NewSecret(old)); err != nil || p.KeyID != "00000000000000cc" {
		t.Fatalf("the key from before the upgrade: %v, %v", p, err)
	}
	if _, err := a.Clients.Authenticate(ctx, "shop", linkvault.NewSecret(planted)); err == nil {
		t.Fatal("an unkeyed row planted after the upgrade authenticated")
	}
}
