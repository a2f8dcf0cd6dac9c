package envelope

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
)

// KeyWrapper is an external key management service (AWS KMS, HashiCorp Vault or OpenBao
// transit) that protects the master keys: with one configured, a key file holds each
// master key only wrapped (encrypted) by a key that never leaves the KMS,
//
//	v2:aws-kms:<base64 of the KMS ciphertext>
//
// and loading the keyring asks the KMS to unwrap each version once, at start-up. After
// that the keyring works exactly as with plain keys: data keys are wrapped and unwrapped
// in process, so the KMS is off the request path, a KMS outage stops no running
// replica, and rotation (AddMasterKeyVersionWrapped, then Keyring.RotateMaster) is the
// same two-phase procedure. This is the model of Vault's own auto-unseal.
//
// Implementations live in their own packages (envelope/awskms, envelope/transit) and
// bind each wrapped key to its version (the KMS's encryption context or associated
// data), so a wrapped v1 pasted in as v2 does not unwrap.
type KeyWrapper interface {
	// Kind is the tag of wrapped entries in key files: lower case letters and digits
	// with inner hyphens, e.g. "aws-kms" or "vault-transit".
	Kind() string
	// Wrap encrypts master key version v.
	Wrap(ctx context.Context, version int, key []byte) ([]byte, error)
	// Unwrap decrypts what Wrap returned for the same version. The caller clears the
	// returned bytes.
	Unwrap(ctx context.Context, version int, wrapped []byte) ([]byte, error)
}

// MasterKeyAAD is the associated data KeyWrapper implementations bind a wrapped master
// key to: a purpose label and the version.
func MasterKeyAAD(version int) string {
	return "linkvault-master-key/v" + strconv.Itoa(version)
}

// LoadMasterKeyringWrapped parses key-file text (see LoadMasterKeyring) whose entries
// may be wrapped by w ("v<N>:<kind>:<base64>"); plain entries are accepted beside them,
// which is how a keyring moves from a file key to a KMS (see AddMasterKeyVersionWrapped).
// Each wrapped entry costs one KMS call. w may be nil when no entry is wrapped. Errors
// name the line and version but never quote key text or the KMS's ciphertext.
func LoadMasterKeyringWrapped(ctx context.Context, data []byte, w KeyWrapper) (*MasterKeyring, error) {
	return loadMasterKeyring(data, func(version int, kind string, blob []byte) ([]byte, error) {
		if w == nil {
			return nil, fmt.Errorf("key v%d is wrapped by %s, but no KMS is configured to unwrap it", version, kind)
		}
		if kind != w.Kind() {
			return nil, fmt.Errorf("key v%d is wrapped by %s, but the configured KMS is %s", version, kind, w.Kind())
		}
		key, err := w.Unwrap(ctx, version, blob)
		if err != nil {
			return nil, fmt.Errorf("unwrap key v%d with %s: %w", version, kind, err)
		}
		return key, nil
	})
}

// unwrapFunc turns a wrapped entry into key bytes.
type unwrapFunc func(version int, kind string, blob []byte) ([]byte, error)

// splitWrapped parses the part after "v<N>:" of a wrapped entry, "<kind>:<base64>". ok is
// false for a plain entry (base64 never contains ':').
func splitWrapped(rest []byte) (kind string, blob []byte, ok bool, err error) {
	k, b64, found := bytes.Cut(rest, []byte(":"))
	if !found {
		return "", nil, false, nil
	}
	if !validKind(string(k)) {
		return "", nil, true, fmt.Errorf("expected v<N>:<base64 of %d random bytes> or v<N>:<kms>:<base64 of the wrapped key>", MasterKeySize)
	}
	blob, err = base64.StdEncoding.DecodeString(string(b64))
	if err != nil || len(blob) == 0 {
		return "", nil, true, fmt.Errorf("wrapped key is not standard base64")
	}
	return string(k), blob, true, nil
}

// validKind reports whether s can tag wrapped entries.
func validKind(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// appendWrappedMasterKey appends "v<version>:<kind>:<base64 of wrapped>\n" for a fresh
// random key wrapped by w.
func appendWrappedMasterKey(ctx context.Context, dst []byte, version int, w KeyWrapper) ([]byte, error) {
	if !validKind(w.Kind()) {
		return nil, fmt.Errorf("KMS kind %q cannot tag a key file entry", w.Kind())
	}
	key, err := newDataKey()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	wrapped, err := w.Wrap(ctx, version, key)
	if err != nil {
		return nil, fmt.Errorf("wrap master key v%d with %s: %w", version, w.Kind(), err)
	}
	// Unwrap once before writing: a key the KMS cannot give back must never be used.
	back, err := w.Unwrap(ctx, version, wrapped)
	if err != nil {
		return nil, fmt.Errorf("unwrap the new master key v%d with %s: %w", version, w.Kind(), err)
	}
	same := bytes.Equal(back, key)
	clear(back)
	if !same {
		return nil, fmt.Errorf("%s returned a different key than it wrapped for v%d", w.Kind(), version)
	}
	dst = fmt.Appendf(dst, "v%d:%s:", version, w.Kind())
	dst = base64.StdEncoding.AppendEncode(dst, wrapped)
	return append(dst, '\n'), nil
}
