package envelope_test

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"testing"

	"github.com/linkvault/linkvault/internal/envelope"
)

func mustDerive(t *testing.T, k *envelope.Keyring, purpose string) []byte {
	t.Helper()
	key, err := k.DeriveKey(context.Background(), purpose)
	if err != nil {
		t.Fatalf("DeriveKey(%q): %v", purpose, err)
	}
	if len(key) != 32 {
		t.Fatalf("DeriveKey(%q) is %d bytes, want 32", purpose, len(key))
	}
	return key
}

func TestDeriveKey(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	a := newTestKeyring(t, store, 1)
	verifier := mustDerive(t, a, envelope.PurposeAPIKeyVerifier)
	fingerprint := mustDerive(t, a, envelope.PurposeFingerprint)
	if bytes.Equal(verifier, fingerprint) {
		t.Fatal("two purposes derived the same key")
	}

	// The derivation is HKDF-SHA256 of the stored root key with "linkvault/<purpose>"
	// (RFC 5869), recomputed here from the root key itself.
	dk, err := store.GetDataKey(ctx, envelope.RootKeyOwner, 1)
	if err != nil {
		t.Fatalf("root key not stored: %v", err)
	}
	if bytes.Contains(dk.Wrapped, verifier) {
		t.Fatal("stored root key row holds a derived key")
	}
	root := envelope.UnwrapForTest(t, a, dk)
	want, err := hkdf.Key(sha256.New, root, nil, "linkvault/"+envelope.PurposeAPIKeyVerifier, 32)
	if err != nil || !bytes.Equal(want, verifier) {
		t.Fatalf("derived key is not HKDF-SHA256(root, linkvault/purpose): %v", err)
	}

	// Another process (another replica) with the same master key derives the same key
	// from the same root; the root is created once.
	b := newTestKeyring(t, store, 1)
	if !bytes.Equal(mustDerive(t, b, envelope.PurposeAPIKeyVerifier), verifier) {
		t.Fatal("a second keyring over the same store derived another key")
	}
	all, err := store.ListDataKeys(ctx)
	if err != nil || len(all) != 1 || all[0].ClientID != envelope.RootKeyOwner {
		t.Fatalf("stored data keys = %v (%v), want the root key only", all, err)
	}

	// A master key rotation re-wraps the root key and leaves derived keys unchanged.
	if _, err := newTestKeyring(t, store, 1, 2).RotateMaster(ctx); err != nil {
		t.Fatal(err)
	}
	if dk, _ := store.GetDataKey(ctx, envelope.RootKeyOwner, 1); dk.MasterVersion != 2 {
		t.Fatalf("root key still wrapped by master v%d after rotation", dk.MasterVersion)
	}
	if !bytes.Equal(mustDerive(t, newTestKeyring(t, store, 2), envelope.PurposeAPIKeyVerifier), verifier) {
		t.Fatal("derived key changed with a master key rotation")
	}

	// Without the master version that wraps the root key, nothing is derived.
	if _, err := newTestKeyring(t, store, 3).DeriveKey(ctx, envelope.PurposeAPIKeyVerifier); err == nil {
		t.Fatal("derived a key without the master key that wraps the root")
	}
}
