package clients_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
)

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, time.Minute)
	a, err := svc.CreateClient(ctx, "appA", "App A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateClient(ctx, "appB", ""); err != nil {
		t.Fatal(err)
	}
	readKey, err := svc.CreateKey(ctx, a.ID, linkvault.PermissionRead)
	if err != nil {
		t.Fatal(err)
	}
	writeKey, err := svc.CreateKey(ctx, a.ID, linkvault.PermissionWrite)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := svc.CreateKey(ctx, a.ID, linkvault.PermissionWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "appA", revoked.Secret); err != nil {
		t.Fatalf("key must work before revocation (fills the cache): %v", err)
	}
	if err := svc.RevokeKey(ctx, "appA", revoked.Key.ID); err != nil {
		t.Fatal(err)
	}
	s := func(v string) linkvault.Secret { return linkvault.NewSecret(v) }
	tamper := []byte(readKey.Secret.Reveal())
	if last := len(tamper) - 1; tamper[last] == 'A' {
		tamper[last] = 'B'
	} else {
		tamper[last] = 'A'
	}
	tests := []struct {
		name     string
		clientID string
		secret   linkvault.Secret
		wantPerm linkvault.Permission // empty: must fail
	}{
		{"read key", "appA", readKey.Secret, linkvault.PermissionRead},
		{"write key", "appA", writeKey.Secret, linkvault.PermissionWrite},
		{"revoked key", "appA", revoked.Secret, ""},
		{"right secret, other client id", "appB", readKey.Secret, ""},
		{"tampered secret", "appA", s(string(tamper)), ""},
		{"unknown key id", "appA", s("lvsk_0000000000000000_xxxxxxxxxxxxxxxxxxxxxxxx"), ""},
		{"not a secret at all", "appA", s("password"), ""},
		{"empty client id", "", readKey.Secret, ""},
		{"key id not hex", "appA", s("lvsk_zzzzzzzzzzzzzzzz_abc"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := svc.Authenticate(ctx, tt.clientID, tt.secret)
			if tt.wantPerm == "" {
				if err == nil {
					t.Fatal("authenticated, want failure")
				}
				if err.Error() != clients.ErrUnauthorized().Error() {
					t.Fatalf("err = %v, want the single unauthorized answer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Permission != tt.wantPerm || p.ClientID != "appA" {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
}

func TestKeysAreStoredHashedAndShownOnce(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t, 0)
	k := clients.CreateAppKey(t, svc, linkvault.PermissionRead)
	stored, err := db.GetAPIKey(ctx, k.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored.SecretHash), k.Secret.Reveal()) || len(stored.SecretHash) != 32 ||
		stored.VerifierVersion != linkvault.APIKeyVerifierKeyed {
		t.Fatal("stored key is not a keyed 32-byte verifier of the secret")
	}
	if sum := sha256.Sum256([]byte(k.Secret.Reveal())); bytes.Equal(stored.SecretHash, sum[:]) {
		t.Fatal("stored verifier is the plain SHA-256 of the secret")
	}
	if !strings.HasPrefix(k.Secret.Reveal(), "lvsk_"+k.Key.ID+"_") {
		t.Fatal("secret does not carry its key id")
	}
}

func TestCreateKeyValidation(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, 0)
	if _, err := svc.CreateKey(ctx, "nobody", linkvault.PermissionRead); !linkvault.IsNotFound(err) {
		t.Fatalf("key for unknown client: %v", err)
	}
	if _, err := svc.CreateClient(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateKey(ctx, "app", "admin"); linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
		t.Fatalf("bad permission: %v", err)
	}
	if _, err := svc.CreateClient(ctx, "bad id!", ""); linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
		t.Fatalf("bad client id: %v", err)
	}
	if _, err := svc.CreateClient(ctx, "app", ""); !linkvault.IsConflict(err) {
		t.Fatalf("duplicate client: %v", err)
	}
}
