package clients

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/linkvault/linkvault"
)

// KeyDeriver gives the key API key verifiers are keyed with (*envelope.Keyring, with
// envelope.PurposeAPIKeyVerifier): derived from the master key, so whoever can write
// the database but does not hold the master key cannot compute a verifier.
type KeyDeriver interface {
	DeriveKey(ctx context.Context, purpose string) ([]byte, error)
}

// verifierPurpose is envelope.PurposeAPIKeyVerifier (clients does not import envelope).
const verifierPurpose = "api-key-verifier-v1"

// verifierLabel starts every verifier's MAC input (domain separation).
const verifierLabel = "linkvault-api-key-verifier-v2"

// macKey derives the verifier key once and keeps it.
type macKey struct {
	deriver KeyDeriver
	mu      sync.Mutex
	key     []byte
	ready   atomic.Pointer[[]byte] // key once derived: read without the lock
}

func (m *macKey) get(ctx context.Context) ([]byte, error) {
	if k := m.ready.Load(); k != nil {
		return *k, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.key != nil {
		return m.key, nil
	}
	if m.deriver == nil {
		return nil, errors.New("clients: no key deriver configured")
	}
	key, err := m.deriver.DeriveKey(ctx, verifierPurpose)
	if err != nil {
		return nil, fmt.Errorf("clients: derive the API key verifier key: %w", err)
	}
	m.key = key
	m.ready.Store(&key)
	return key, nil
}

// verifier is the keyed verifier of a key whose secret has SHA-256 secretHash:
//
//	HMAC-SHA256(K, label ‖ len‖keyID ‖ len‖clientID ‖ len‖permission ‖ secretHash)
//
// with 4-byte big-endian length prefixes (so no field can borrow bytes from the next).
// Binding the id, client and permission means a row edited in the database (another
// client, write instead of read) no longer matches its secret. MACing the SHA-256 of
// the secret rather than the secret lets rows written before keyed verifiers be
// upgraded without their secrets (UpgradeVerifiers); a secret carries 256 random bits,
// so nothing is lost.
func verifier(key []byte, keyID, clientID string, perm linkvault.Permission, secretHash []byte) []byte {
	m := hmac.New(sha256.New, key)
	var buf [4]byte
	for _, f := range []string{verifierLabel, keyID, clientID, string(perm)} {
		binary.BigEndian.PutUint32(buf[:], uint32(len(f)))
		m.Write(buf[:])
		m.Write([]byte(f))
	}
	m.Write(secretHash)
	return m.Sum(nil)
}

// matches reports, in constant time, whether secret opens k. A row with an unkeyed
// (version 1) verifier never matches; the comparison is made all the same.
func matches(key []byte, k *linkvault.APIKey, secret linkvault.Secret) bool {
	h := sha256Sum(secret.Reveal())
	want := verifier(key, k.ID, k.ClientID, k.Permission, h[:])
	eq := subtle.ConstantTimeCompare(want, k.SecretHash)
	keyed := subtle.ConstantTimeEq(int32(k.VerifierVersion), linkvault.APIKeyVerifierKeyed)
	return eq&keyed == 1
}

// UpgradeVerifiers re-derives every unkeyed (version 1) verifier from its stored
// SHA-256 as a keyed one, and returns how many it upgraded. Each row is replaced with a
// compare-and-swap, so running it twice, or on two replicas at once, is harmless.
//
// Call it only where the operator vouches for the rows: once, right after the schema
// migration that introduced keyed verifiers (the migrate command and a server that
// applies that migration do; see docs/security.md), or by `linkvault keys
// upgrade-verifiers` to finish an upgrade that was interrupted. An unkeyed row written
// later by a database intruder must never be upgraded: that is the attack keyed
// verifiers close.
func (s *Service) UpgradeVerifiers(ctx context.Context) (int, error) {
	key, err := s.mac.get(ctx)
	if err != nil {
		return 0, err
	}
	cls, err := s.store.ListClients(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cls {
		keys, err := s.store.ListAPIKeys(ctx, c.ID)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if k.VerifierVersion != linkvault.APIKeyVerifierSHA256 {
				continue
			}
			to := verifier(key, k.ID, k.ClientID, k.Permission, k.SecretHash)
			err := s.store.UpgradeAPIKeyVerifier(ctx, k.ID, k.SecretHash, k.VerifierVersion, to, linkvault.APIKeyVerifierKeyed)
			switch {
			case err == nil:
				n++
			case linkvault.IsConflict(err) || linkvault.IsNotFound(err):
				// Upgraded by another process, or removed, meanwhile.
			default:
				return n, err
			}
		}
	}
	if n > 0 {
		_, _ = s.keys.reload(ctx, nil)
	}
	return n, nil
}

func sha256Sum(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }
