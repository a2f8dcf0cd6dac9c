package clients_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/testdb"
)

type keyStore interface {
	clients.Store
	envelope.DataKeyStore
}

// eachStore runs fn against SQLite and PostgreSQL (skipped without a server), each
// with an intruder holding raw write access to the same database.
func eachStore(t *testing.T, fn func(t *testing.T, st keyStore, in *testdb.Intruder)) {
	t.Run("sqlite", func(t *testing.T) {
		st, in := testdb.SQLiteWithIntruder(t)
		fn(t, st, in)
	})
	t.Run("postgres", func(t *testing.T) {
		st, in := testdb.PostgresWithIntruder(t)
		fn(t, st, in)
	})
}

// TestDatabaseWriterCannotMintAKey is issue 15, failure 1: inserting an api_keys row
// holding the SHA-256 of a chosen secret gave full API access without the master key.
// Verifiers are now keyed with a key derived from the master key and bind the key id,
// client and permission, so neither a planted row nor an edited one authenticates.
func TestDatabaseWriterCannotMintAKey(t *testing.T) {
	eachStore(t, func(t *testing.T, st keyStore, in *testdb.Intruder) {
		ctx := context.Background()
		svc := clients.New(st, testKeyring(t, st), time.Now, 0)
		for _, id := range []string{"app", "other"} {
			if _, err := svc.CreateClient(ctx, id, id); err != nil {
				t.Fatal(err)
			}
		}
		read, err := svc.CreateKey(ctx, "app", linkvault.PermissionRead)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, "app", read.Secret); err != nil {
			t.Fatalf("the genuine key: %v", err)
		}

		// Planted rows: a chosen secret with its SHA-256 (what worked on main), as a
		// version 1 and as a version 2 verifier, and a verifier keyed with a key the
		// intruder made up (another master key's derivation).
		chosen := "lvsk_00000000000000aa_" + linkvault.NewRandomID(32)
		sum := sha256.Sum256([]byte(chosen))
		guessed, err := testKeyring(t, newMemDataKeys()).DeriveKey(ctx, envelope.PurposeAPIKeyVerifier)
		if err != nil {
			t.Fatal(err)
		}
		planted := map[string]struct {
			verifier []byte
			version  int
		}{
			"sha-256 of a chosen secret, version 1": {sum[:], linkvault.APIKeyVerifierSHA256},
			"sha-256 of a chosen secret, version 2": {sum[:], linkvault.APIKeyVerifierKeyed},
			"hmac under a made-up key":              {clients.VerifierForTest(guessed, "00000000000000aa", "app", linkvault.PermissionWrite, sum[:]), linkvault.APIKeyVerifierKeyed},
		}
		for name, p := range planted {
			in.Exec(`DELETE FROM api_keys WHERE id = $1`, "00000000000000aa")
			if err := st.CreateAPIKey(ctx, &linkvault.APIKey{ID: "00000000000000aa", ClientID: "app", Permission: linkvault.PermissionWrite,
				SecretHash: p.verifier, VerifierVersion: p.version}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Authenticate(ctx, "app", linkvault.NewSecret(chosen)); err == nil {
				t.Errorf("%s: a key planted in the database authenticated", name)
			}
		}

		// Edited rows: the genuine read key widened to write, or moved to another client.
		in.Exec(`UPDATE api_keys SET permission = 'write' WHERE id = $1`, read.Key.ID)
		if p, err := svc.Authenticate(ctx, "app", read.Secret); err == nil {
			t.Errorf("a read key edited to write authenticated with permission %s", p.Permission)
		}
		in.Exec(`UPDATE api_keys SET permission = 'read', client_id = 'other' WHERE id = $1`, read.Key.ID)
		if _, err := svc.Authenticate(ctx, "other", read.Secret); err == nil {
			t.Error("a key moved to another client authenticated for it")
		}
		in.Exec(`UPDATE api_keys SET client_id = 'app' WHERE id = $1`, read.Key.ID)
		if p, err := svc.Authenticate(ctx, "app", read.Secret); err != nil || p.Permission != linkvault.PermissionRead {
			t.Errorf("the key restored to its own row: %v, %v", p, err)
		}
	})
}

// TestUnkeyedVerifiersAreUpgradedOnlyOnRequest: rows written before keyed verifiers
// (the SHA-256 of the secret, version 1) stop authenticating; UpgradeVerifiers, which
// the process applying the schema migration runs once, makes them keyed, so their
// secrets keep working; authentication itself never upgrades anything, so a version 1
// row planted later stays dead.
func TestUnkeyedVerifiersAreUpgradedOnlyOnRequest(t *testing.T) {
	eachStore(t, func(t *testing.T, st keyStore, in *testdb.Intruder) {
		ctx := context.Background()
		svc := clients.New(st, testKeyring(t, st), time.Now, 0)
		if _, err := svc.CreateClient(ctx, "app", "app"); err != nil {
			t.Fatal(err)
		}
		// An older release's key: SHA-256 of the secret, verifier_version 1 (the column's default).
		old := "lvsk_00000000000000bb_" + linkvault.NewRandomID(32)
		sum := sha256.Sum256([]byte(old))
		if err := st.CreateAPIKey(ctx, &linkvault.APIKey{ID: "00000000000000bb", ClientID: "app", Permission: linkvault.PermissionRead,
			SecretHash: sum[:], VerifierVersion: linkvault.APIKeyVerifierSHA256}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := svc.Authenticate(ctx, "app", linkvault.NewSecret(old)); err == nil {
				t.Fatal("an unkeyed verifier authenticated")
			}
		}
		if k, _ := st.GetAPIKey(ctx, "00000000000000bb"); k.VerifierVersion != linkvault.APIKeyVerifierSHA256 {
			t.Fatal("authentication upgraded a verifier")
		}
		n, err := svc.UpgradeVerifiers(ctx)
		if err != nil || n != 1 {
			t.Fatalf("UpgradeVerifiers = %d, %v; want 1", n, err)
		}
		if p, err := svc.Authenticate(ctx, "app", linkvault.NewSecret(old)); err != nil || p.KeyID != "00000000000000bb" {
			t.Fatalf("the upgraded key: %v, %v", p, err)
		}
		if n, err := svc.UpgradeVerifiers(ctx); err != nil || n != 0 {
			t.Fatalf("second UpgradeVerifiers = %d, %v; want 0 (idempotent)", n, err)
		}
		if in.Exec(`UPDATE api_keys SET verifier_version = 1 WHERE id = $1`, "00000000000000bb") != 1 {
			t.Fatal("intruder update changed nothing")
		}
		if _, err := svc.Authenticate(ctx, "app", linkvault.NewSecret(old)); err == nil {
			t.Fatal("a keyed verifier relabelled as version 1 authenticated")
		}
	})
}
