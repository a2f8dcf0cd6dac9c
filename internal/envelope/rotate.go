package envelope

import (
	"context"
	"errors"
	"fmt"

	"github.com/linkvault/linkvault"
)

// rewrapAttempts bounds how often one data key is retried when concurrent rotations
// keep changing it underneath.
const rewrapAttempts = 3

// RotateMaster re-wraps every data key that is wrapped by an older master version with
// the keyring's current master version, and returns how many it re-wrapped. It runs
// online: each key is replaced with a compare-and-swap on its master version, readers
// keep working throughout (they hold unwrapped keys, and the old master versions stay in
// the keyring), and concurrent rotations never clobber each other. Keys wrapped by a
// newer master version than this keyring's are left alone.
//
// A key that cannot be re-wrapped (its master version is missing from the keyring, or
// the store fails) does not stop the others; all failures are joined in err. Running
// RotateMaster again after fixing the cause finishes the job.
func (k *Keyring) RotateMaster(ctx context.Context) (rewrapped int, err error) {
	master := k.master.Load()
	keys, err := k.store.ListDataKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("envelope: list data keys: %w", err)
	}
	var errs []error
	for _, dk := range keys {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		done, err := k.rewrap(ctx, master, dk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if done {
			rewrapped++
		}
	}
	return rewrapped, errors.Join(errs...)
}

// rewrap moves one data key to master's current version. It reports false without
// error when the key needs no change (any more).
func (k *Keyring) rewrap(ctx context.Context, master *MasterKeyring, dk *linkvault.DataKey) (bool, error) {
	target := master.Current()
	for range rewrapAttempts {
		if dk.MasterVersion >= target {
			return false, nil
		}
		key, err := master.unwrap(dk.ClientID, dk.Version, dk.MasterVersion, dk.Wrapped)
		if err != nil {
			return false, err
		}
		wrapped, err := master.wrap(dk.ClientID, dk.Version, target, key)
		clear(key)
		if err != nil {
			return false, err
		}
		err = k.store.RewrapDataKey(ctx, dk.ClientID, dk.Version, wrapped, dk.MasterVersion, target)
		if err == nil {
			return true, nil
		}
		if !linkvault.IsConflict(err) {
			return false, fmt.Errorf("envelope: re-wrap data key v%d of client %q: %w", dk.Version, dk.ClientID, err)
		}
		// Someone else re-wrapped it meanwhile; look at what is stored now.
		current, err := k.store.GetDataKey(ctx, dk.ClientID, dk.Version)
		if err != nil {
			return false, fmt.Errorf("envelope: re-read data key v%d of client %q: %w", dk.Version, dk.ClientID, err)
		}
		dk = current
	}
	return false, fmt.Errorf("envelope: data key v%d of client %q kept changing during rotation; run it again", dk.Version, dk.ClientID)
}

// DataKeysByMaster counts stored data keys per master key version that wraps them,
// e.g. to confirm a rotation finished before an old master version is removed.
func (k *Keyring) DataKeysByMaster(ctx context.Context) (map[int]int, error) {
	keys, err := k.store.ListDataKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("envelope: list data keys: %w", err)
	}
	counts := make(map[int]int)
	for _, dk := range keys {
		counts[dk.MasterVersion]++
	}
	return counts, nil
}

// NewDataKeyVersion creates a fresh data key for the client that new seals use from
// now on, and returns its version. Ciphertexts sealed earlier keep opening with their
// own version. Other replicas switch to the new version when their cached current
// version expires (WithCurrentVersionTTL).
func (k *Keyring) NewDataKeyVersion(ctx context.Context, clientID string) (int, error) {
	if clientID == "" {
		return 0, errors.New("envelope: new data key needs a client id")
	}
	next := 1
	latest, err := k.store.LatestDataKey(ctx, clientID)
	switch {
	case err == nil:
		next = latest.Version + 1
	case !linkvault.IsNotFound(err):
		return 0, fmt.Errorf("envelope: read latest data key of client %q: %w", clientID, err)
	}
	dk, aead, err := k.createDataKey(ctx, clientID, next)
	if err != nil {
		return 0, err
	}
	if aead == nil {
		if aead, err = k.cipherOf(dk); err != nil {
			return 0, err
		}
	}
	k.cache.putCurrent(clientID, dk.Version, aead, k.now())
	return dk.Version, nil
}

// CheckMaster reports whether m opens the stored data keys: for every master version
// that wraps some data key, m must hold that version and unwrap one of them. A key file
// whose vN is another key than the one the data keys were wrapped with (a version
// number reused after its line was lost, another deployment's file) fails here instead
// of at the first request after a restart. It unwraps one data key per version.
func (k *Keyring) CheckMaster(ctx context.Context, m *MasterKeyring) error {
	keys, err := k.store.ListDataKeys(ctx)
	if err != nil {
		return fmt.Errorf("envelope: list data keys: %w", err)
	}
	checked := make(map[int]bool)
	for _, dk := range keys {
		if checked[dk.MasterVersion] {
			continue
		}
		checked[dk.MasterVersion] = true
		if !m.Has(dk.MasterVersion) {
			return fmt.Errorf("envelope: master key v%d, which wraps data keys, is not in the keyring", dk.MasterVersion)
		}
		key, err := m.unwrap(dk.ClientID, dk.Version, dk.MasterVersion, dk.Wrapped)
		clear(key)
		if err != nil {
			return fmt.Errorf("envelope: master key v%d of this keyring is not the key that wrapped the data keys under v%d (it does not open them)", dk.MasterVersion, dk.MasterVersion)
		}
	}
	return nil
}
