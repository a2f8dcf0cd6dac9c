// Package envelope encrypts credentials at rest with envelope encryption, using the
// standard library's AES-256-GCM only.
//
// Each client has its own random 256-bit data keys, numbered from version 1. A data key
// is stored only wrapped (sealed) by a master key from a versioned MasterKeyring kept
// outside the database (a key file or an environment value). A credential is sealed
// under its client's current data key, with associated data binding it to
// (client id, tokenId, data key version): a ciphertext copied onto another row does
// not open.
//
// Keys for other purposes (API key verifiers, fingerprints of removed identifiers) are
// derived from a root key stored the same way (DeriveKey), so they too need the master
// key and survive its rotation.
//
// Unwrapped data keys are cached in memory, so sealing and opening on the hot path do
// no database I/O and no unwrapping.
//
// Rotation is online and has two independent levers:
//
//   - Master key rotation: add a version to the key file (AddMasterKeyVersion), load
//     the new keyring in every replica (Keyring.SetMaster; servers re-read the file),
//     and once every replica holds it, wrap new data keys with it (SetWrapVersion) and
//     call Keyring.RotateMaster to re-wrap every data key with the new master version.
//     Old master versions must stay in the keyring until RotateMaster finished; only
//     then may they be removed from the file. internal/app and `linkvault keys rotate`
//     run these steps.
//   - Data key rotation: Keyring.NewDataKeyVersion makes a fresh data key that new
//     seals use; existing ciphertexts keep opening with the version stored beside them.
//
// With several replicas, a replica learns about a data key version created elsewhere
// only when its cached current version expires (see WithCurrentVersionTTL). Until
// then it keeps sealing with the previous version, which is harmless: every version
// stays readable.
package envelope

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/linkvault/linkvault"
)

// DataKeyStore is the part of linkvault.DataKeyStore the keyring needs.
type DataKeyStore interface {
	CreateDataKey(ctx context.Context, k *linkvault.DataKey) error
	GetDataKey(ctx context.Context, clientID string, version int) (*linkvault.DataKey, error)
	LatestDataKey(ctx context.Context, clientID string) (*linkvault.DataKey, error)
	ListDataKeys(ctx context.Context) ([]*linkvault.DataKey, error)
	RewrapDataKey(ctx context.Context, clientID string, version int, wrapped []byte, fromMasterVersion, toMasterVersion int) error
}

// Defaults for the options.
const (
	DefaultCacheSize         = 4096
	DefaultCurrentVersionTTL = 5 * time.Minute
)

// Keyring seals and opens credentials (it implements linkvault.Sealer) and manages
// data keys. It is safe for concurrent use.
type Keyring struct {
	store             DataKeyStore
	master            atomic.Pointer[MasterKeyring]
	now               func() time.Time
	cache             *keyCache
	loads             loadGroup
	currentVersionTTL time.Duration
	derived           derived
	refuseFormat1     bool
	// wrapVersion, when set and held, is the master version new data keys are
	// wrapped with instead of the keyring's current one (SetWrapVersion).
	wrapVersion atomic.Int64
}

var _ linkvault.Sealer = (*Keyring)(nil)

// Option adjusts a Keyring.
type Option func(*Keyring)

// WithCacheSize bounds how many unwrapped data keys (and client current versions) are
// kept in memory. Default DefaultCacheSize.
func WithCacheSize(n int) Option {
	return func(k *Keyring) { k.cache = newKeyCache(n) }
}

// WithCurrentVersionTTL sets how long a client's current data key version is trusted
// before Seal reads it from the store again, which bounds how long a replica keeps
// sealing with an older version after NewDataKeyVersion ran elsewhere. Zero or less
// means never re-read. Default DefaultCurrentVersionTTL.
func WithCurrentVersionTTL(d time.Duration) Option {
	return func(k *Keyring) { k.currentVersionTTL = d }
}

// WithoutFormat1Credentials makes OpenCredential refuse credentials sealed in format
// 1 (bound to client, tokenId and key version only) as integrity failures, once every
// row has been re-sealed: an old format 1 ciphertext written back onto an edited row
// then opens nowhere.
func WithoutFormat1Credentials() Option {
	return func(k *Keyring) { k.refuseFormat1 = true }
}

// New returns a Keyring over store using master; now is the clock for key timestamps
// and cache ages.
func New(store DataKeyStore, master *MasterKeyring, now func() time.Time, opts ...Option) *Keyring {
	k := &Keyring{
		store:             store,
		now:               now,
		cache:             newKeyCache(DefaultCacheSize),
		currentVersionTTL: DefaultCurrentVersionTTL,
	}
	k.master.Store(master)
	for _, opt := range opts {
		opt(k)
	}
	return k
}

// Master returns the keyring's current master keyring.
func (k *Keyring) Master() *MasterKeyring { return k.master.Load() }

// SetMaster replaces the master keyring, e.g. after the key file gained a version.
// Data keys already unwrapped stay cached; new data keys are wrapped by m's current
// version from now on.
func (k *Keyring) SetMaster(m *MasterKeyring) { k.master.Store(m) }

// SetWrapVersion makes new data keys wrapped by master version v rather than by the
// master keyring's current version, as long as the keyring holds v (0 restores the
// default). During a rotation, replicas keep wrapping with the newest version every
// live replica holds, so none creates a data key another cannot unwrap.
func (k *Keyring) SetWrapVersion(v int) { k.wrapVersion.Store(int64(v)) }

// WrapVersion is the master version new data keys are wrapped with.
func (k *Keyring) WrapVersion() int { return k.wrapVersionOf(k.master.Load()) }

func (k *Keyring) wrapVersionOf(m *MasterKeyring) int {
	if v := int(k.wrapVersion.Load()); v > 0 && m.Has(v) {
		return v
	}
	return m.Current()
}

// Seal encrypts plaintext under the client's current data key, creating the client's
// first data key if it has none.
func (k *Keyring) Seal(ctx context.Context, clientID, tokenID string, plaintext []byte) ([]byte, int, error) {
	if clientID == "" || tokenID == "" {
		return nil, 0, sealError(errors.New("envelope: seal needs a client id and a tokenId"))
	}
	version, aead, err := k.currentKey(ctx, clientID)
	if err != nil {
		return nil, 0, sealError(err)
	}
	// One allocation holds the ciphertext and, past its end, the associated data.
	n := sealOverhead + len(plaintext)
	buf := make([]byte, n, n+credentialAADSize(clientID, tokenID))
	aad := credentialAAD(buf[n:], clientID, tokenID, version)
	out := sealTo(buf[:0], aead, plaintext, aad)
	return out[:n:n], version, nil
}

// Open decrypts a ciphertext produced by Seal for the same client, tokenId and data key
// version. Every failure is the same generic serverFailure; the cause (for logs) never
// carries ciphertext or key bytes.
func (k *Keyring) Open(ctx context.Context, clientID, tokenID string, keyVersion int, ciphertext []byte) ([]byte, error) {
	if keyVersion < 1 || len(ciphertext) < sealOverhead {
		return nil, openError(errMalformed)
	}
	aead, ok := k.cache.get(clientID, keyVersion)
	if !ok {
		var err error
		if aead, err = k.loadVersion(ctx, clientID, keyVersion); err != nil {
			return nil, openError(err)
		}
	}
	// One allocation holds the plaintext and, past its end, the associated data.
	n := len(ciphertext) - sealOverhead
	buf := make([]byte, n, n+credentialAADSize(clientID, tokenID))
	aad := credentialAAD(buf[n:], clientID, tokenID, keyVersion)
	plaintext, err := openTo(buf[:0], aead, ciphertext, aad)
	if err != nil {
		return nil, openError(err)
	}
	return plaintext[:n:n], nil
}

// sealError is what a failed seal answers (see internalError).
func sealError(cause error) error { return internalError("Credential could not be encrypted.", cause) }

// openError is what a failed open answers (see internalError).
func openError(cause error) error {
	return internalError("Stored credential could not be decrypted.", cause)
}

// internalError is an internal error that keeps its cause for the logs and says
// nothing of it to the caller.
func internalError(message string, cause error) error {
	return &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal, Message: message, Err: cause}
}

// currentKey returns the client's current data key, from the cache when it is fresh.
func (k *Keyring) currentKey(ctx context.Context, clientID string) (int, cipher.AEAD, error) {
	cur, aead, ok := k.cache.getCurrent(clientID)
	if ok && (k.currentVersionTTL <= 0 || k.now().Sub(cur.checkedAt) < k.currentVersionTTL) {
		return cur.version, aead, nil
	}
	version, fresh, err := k.loads.do(ctx, cacheKey{clientID, 0}, func() (int, cipher.AEAD, error) {
		return k.loadCurrent(ctx, clientID)
	})
	if err != nil && ok {
		// The store could not be asked whether a newer version exists; the cached
		// version is still valid for sealing.
		return cur.version, aead, nil
	}
	return version, fresh, err
}

// loadCurrent reads the client's latest data key, creating version 1 if there is none.
func (k *Keyring) loadCurrent(ctx context.Context, clientID string) (int, cipher.AEAD, error) {
	dk, err := k.store.LatestDataKey(ctx, clientID)
	var aead cipher.AEAD
	if linkvault.IsNotFound(err) {
		dk, aead, err = k.createDataKey(ctx, clientID, 1)
	}
	if err != nil {
		return 0, nil, err
	}
	if aead == nil {
		if aead, err = k.cipherOf(dk); err != nil {
			return 0, nil, err
		}
	}
	k.cache.putCurrent(clientID, dk.Version, aead, k.now())
	return dk.Version, aead, nil
}

// loadVersion reads and unwraps one data key version.
func (k *Keyring) loadVersion(ctx context.Context, clientID string, version int) (cipher.AEAD, error) {
	_, aead, err := k.loads.do(ctx, cacheKey{clientID, version}, func() (int, cipher.AEAD, error) {
		if aead, ok := k.cache.get(clientID, version); ok {
			return version, aead, nil
		}
		dk, err := k.store.GetDataKey(ctx, clientID, version)
		if err != nil {
			return 0, nil, fmt.Errorf("envelope: read data key v%d of client %q: %w", version, clientID, err)
		}
		aead, err := k.cipherOf(dk)
		if err != nil {
			return 0, nil, err
		}
		k.cache.put(clientID, version, aead)
		return version, aead, nil
	})
	return aead, err
}

// cipherOf returns the cipher of a stored data key, unwrapping it unless cached.
func (k *Keyring) cipherOf(dk *linkvault.DataKey) (cipher.AEAD, error) {
	if aead, ok := k.cache.get(dk.ClientID, dk.Version); ok {
		return aead, nil
	}
	key, err := k.master.Load().unwrap(dk.ClientID, dk.Version, dk.MasterVersion, dk.Wrapped)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return newDataKeyAEAD(key)
}

// createDataKey stores a fresh data key with the given version. If the store reports a
// conflict (another goroutine or process created that version first), it returns the
// client's latest stored key instead, with a nil cipher for the caller to unwrap.
func (k *Keyring) createDataKey(ctx context.Context, clientID string, version int) (*linkvault.DataKey, cipher.AEAD, error) {
	key, err := newDataKey()
	if err != nil {
		return nil, nil, err
	}
	defer clear(key)
	master := k.master.Load()
	wrapWith := k.wrapVersionOf(master)
	wrapped, err := master.wrap(clientID, version, wrapWith, key)
	if err != nil {
		return nil, nil, err
	}
	dk := &linkvault.DataKey{
		ClientID:      clientID,
		Version:       version,
		Wrapped:       wrapped,
		MasterVersion: wrapWith,
		CreatedAt:     k.now(),
	}
	err = k.store.CreateDataKey(ctx, dk)
	if linkvault.IsConflict(err) {
		latest, err := k.store.LatestDataKey(ctx, clientID)
		if err != nil {
			return nil, nil, fmt.Errorf("envelope: re-read data key of client %q after a concurrent create: %w", clientID, err)
		}
		return latest, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: store data key v%d of client %q: %w", version, clientID, err)
	}
	aead, err := newDataKeyAEAD(key)
	if err != nil {
		return nil, nil, err
	}
	return dk, aead, nil
}
