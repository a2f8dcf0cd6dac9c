package envelope

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/linkvault/linkvault"
)

// RootKeyOwner is the data_keys owner of linkvault's root key, the secret that
// DeriveKey derives purpose keys from. The ':' makes it an id no client can have
// (linkvault.ValidateClientID), so no client's seal ever uses it.
//
// The root key is a random 256-bit key stored like a data key: wrapped by the master
// key, re-wrapped by RotateMaster with the others. Deriving from it rather than from a
// master key version keeps every derived key stable across master key rotations (API
// key verifiers and audit fingerprints computed before a rotation still match after
// it), while reading it still needs the master key: a database writer, or a backup
// whose master key versions were destroyed, has no way to it.
const RootKeyOwner = "linkvault:root"

// Purposes of derived keys. Each purpose gets an independent key; adding one never
// changes another.
const (
	// PurposeAPIKeyVerifier keys the HMAC that API key verifiers are (clients).
	PurposeAPIKeyVerifier = "api-key-verifier-v1"
	// PurposeFingerprint keys the HMAC of identifiers kept after a connection's
	// removal (audit trail fingerprints).
	PurposeFingerprint = "fingerprint-v1"
)

// derived caches the keys DeriveKey produced, per purpose.
type derived struct {
	mu   sync.Mutex
	keys map[string][]byte
}

// DeriveKey returns the 32-byte key for purpose: HKDF-SHA256 (RFC 5869) of the root
// key, with "linkvault/<purpose>" as info. The root key is created (once, across
// replicas: the store's unique version decides a race) the first time any process
// needs it. Derived keys are cached; callers must not modify the returned slice.
func (k *Keyring) DeriveKey(ctx context.Context, purpose string) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("envelope: derive key needs a purpose")
	}
	k.derived.mu.Lock()
	defer k.derived.mu.Unlock()
	if key, ok := k.derived.keys[purpose]; ok {
		return key, nil
	}
	root, err := k.rootKey(ctx)
	if err != nil {
		return nil, err
	}
	defer clear(root)
	key, err := hkdf.Key(sha256.New, root, nil, "linkvault/"+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("envelope: derive %s key: %w", purpose, err)
	}
	if k.derived.keys == nil {
		k.derived.keys = make(map[string][]byte)
	}
	k.derived.keys[purpose] = key
	return key, nil
}

// rootKey reads and unwraps the root key, creating it if the store has none. The
// caller clears the returned bytes.
func (k *Keyring) rootKey(ctx context.Context) ([]byte, error) {
	dk, err := k.store.GetDataKey(ctx, RootKeyOwner, 1)
	if linkvault.IsNotFound(err) {
		// The root key is used through HKDF only, never as a cipher.
		dk, _, err = k.createDataKey(ctx, RootKeyOwner, 1)
	}
	if err != nil {
		return nil, fmt.Errorf("envelope: read root key: %w", err)
	}
	key, err := k.master.Load().unwrap(dk.ClientID, dk.Version, dk.MasterVersion, dk.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("envelope: root key: %w", err)
	}
	return key, nil
}
