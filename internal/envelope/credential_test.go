package envelope_test

import (
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
)

func testRow() *linkvault.Connection {
	return &linkvault.Connection{
		TokenID: "tok-1",
		ConnectionIdentity: linkvault.ConnectionIdentity{
			ClientID: "app", UserID: "user-1", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead,
		},
		UpstreamAccount: "cb-user-1",
	}
}

// sealedAs returns a copy of row holding testCredential sealed by k in format 2
// (SealCredential) or format 1 (the JSON through Seal, as before format 2 existed).
func sealedAs(t *testing.T, k *envelope.Keyring, row *linkvault.Connection, format int) *linkvault.Connection {
	t.Helper()
	ctx := context.Background()
	var (
		sealed []byte
		ver    int
		err    error
	)
	if format == 1 {
		sealed, ver, err = k.Seal(ctx, row.ClientID, row.TokenID, linkvault.EncodeCredential(testCredential))
	} else {
		sealed, ver, err = k.SealCredential(ctx, row, testCredential)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := envelope.SealFormat(sealed); got != format {
		t.Fatalf("sealed in format %d, want %d", got, format)
	}
	c := *row
	c.SealedCredential, c.KeyVersion = sealed, ver
	return &c
}

var testCredential = linkvault.Credential{AccessToken: linkvault.NewSecret("at"), RefreshToken: linkvault.NewSecret("rt"),
	TokenType: "Bearer", Expiry: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Subject: "cb-user-1"}

// TestCredentialBindsEveryRowField is issue 15, failure 1: the credential's associated
// data bound client, tokenId and key version only, so a read-scoped row edited to write
// in the database worked for writes. Every field that grants power is bound now:
// changing any one makes the credential refuse to open with ErrTypeCredentialIntegrity.
func TestCredentialBindsEveryRowField(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	row := sealedAs(t, k, testRow(), 2)
	got, err := k.OpenCredential(ctx, row)
	if err != nil || got.AccessToken.Reveal() != "at" || got.Subject != "cb-user-1" || !got.Expiry.Equal(testCredential.Expiry) {
		t.Fatalf("OpenCredential = %+v, %v", got, err)
	}
	if _, err := k.NewDataKeyVersion(ctx, "other"); err != nil { // a client with a key of its own
		t.Fatal(err)
	}
	tampers := map[string]func(c *linkvault.Connection){
		"client":           func(c *linkvault.Connection) { c.ClientID = "other" },
		"tokenId":          func(c *linkvault.Connection) { c.TokenID = "tok-2" },
		"userId":           func(c *linkvault.Connection) { c.UserID = "user-2" },
		"brokerType":       func(c *linkvault.Connection) { c.BrokerType = linkvault.BrokerUphold },
		"scope":            func(c *linkvault.Connection) { c.Scope = linkvault.PermissionWrite },
		"upstream account": func(c *linkvault.Connection) { c.UpstreamAccount = "cb-user-2" },
		"key version":      func(c *linkvault.Connection) { c.KeyVersion = 2 },
		"ciphertext":       func(c *linkvault.Connection) { c.SealedCredential[len(c.SealedCredential)-1] ^= 1 },
		"format byte":      func(c *linkvault.Connection) { c.SealedCredential[0] = 1 }, // a downgrade to format 1
	}
	for name, tamper := range tampers {
		t.Run(name, func(t *testing.T) {
			c := *row
			c.SealedCredential = append([]byte(nil), row.SealedCredential...)
			tamper(&c)
			_, err := k.OpenCredential(ctx, &c)
			if linkvault.ErrorType(err) != linkvault.ErrTypeCredentialIntegrity {
				t.Fatalf("tampered %s: %v, want %s", name, err, linkvault.ErrTypeCredentialIntegrity)
			}
		})
	}
	// The generic Open (webhook secrets, Link steps) never accepts a credential.
	if _, err := k.Open(ctx, row.ClientID, row.TokenID, row.KeyVersion, row.SealedCredential); err == nil {
		t.Fatal("Open accepted a format 2 credential")
	}
}

// TestFormat1CredentialsStillOpen: credentials sealed before format 2 (JSON inside,
// bound to client, tokenId and key version) keep opening until they are re-sealed.
func TestFormat1CredentialsStillOpen(t *testing.T) {
	ctx := context.Background()
	k := newTestKeyring(t, newMemStore(), 1)
	row := testRow()
	row.UpstreamAccount = "" // the column did not exist
	row = sealedAs(t, k, row, 1)
	got, err := k.OpenCredential(ctx, row)
	if err != nil || got.RefreshToken.Reveal() != "rt" || got.Subject != "cb-user-1" {
		t.Fatalf("format 1 credential: %+v, %v", got, err)
	}
	other := *row
	other.TokenID = "tok-2"
	if _, err := k.OpenCredential(ctx, &other); linkvault.ErrorType(err) != linkvault.ErrTypeCredentialIntegrity {
		t.Fatalf("format 1 credential on another tokenId: %v", err)
	}
}

// TestFormat1CredentialsRefusedOnRequest: with WithoutFormat1Credentials (the operator
// set LINKVAULT_REFUSE_UNBOUND_CREDENTIALS after the re-seal), a format 1 ciphertext,
// e.g. one kept from before the upgrade and written back onto an edited row, no longer
// opens; format 2 still does.
func TestFormat1CredentialsRefusedOnRequest(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	row := testRow()
	old := *sealedAs(t, k, row, 1)
	strict := envelope.New(store, testMaster(t, 1), time.Now, envelope.WithoutFormat1Credentials())
	if _, err := strict.OpenCredential(ctx, &old); linkvault.ErrorType(err) != linkvault.ErrTypeCredentialIntegrity {
		t.Fatalf("format 1 with WithoutFormat1Credentials: %v", err)
	}
	if _, err := k.OpenCredential(ctx, &old); err != nil {
		t.Fatalf("format 1 by default: %v", err)
	}
	cur := *row
	var err error
	if cur.SealedCredential, cur.KeyVersion, err = strict.SealCredential(ctx, &cur, testCredential); err != nil {
		t.Fatal(err)
	}
	if _, err := strict.OpenCredential(ctx, &cur); err != nil {
		t.Fatalf("format 2 with WithoutFormat1Credentials: %v", err)
	}
}
