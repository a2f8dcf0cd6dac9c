package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MasterKeyFileMode is the permission of key files this package writes.
const MasterKeyFileMode fs.FileMode = 0o600

const masterKeyFileHeader = `# linkvault master keys. Keep this file secret and backed up: without it no stored
# credential can be decrypted. One key per line, v<N>:<base64 of 32 random bytes>;
# the highest version is current. "linkvault keys rotate" adds a version and re-wraps
# the data keys; remove an old version only after "linkvault keys rotate --status"
# says the rotation is complete.
`

// ReadMasterKeyFile reads and parses a master key file.
func ReadMasterKeyFile(path string) (*MasterKeyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	defer clear(data)
	m, err := LoadMasterKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// CheckMasterKeyFileMode returns an error if the key file at path is accessible to
// anyone but its owner, for the caller to warn about or refuse. (Container secret
// mounts are often 0644, so ReadMasterKeyFile does not enforce this itself.)
func CheckMasterKeyFileMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat master key file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("master key file %s has mode %04o; it should be readable by its owner only (chmod 600)", path, perm)
	}
	return nil
}

// GenerateMasterKeyFile creates path with mode 0600 holding one fresh random key, v1,
// unless the file already exists, in which case it is left untouched and created is
// false. Used on the first run of "linkvault demo".
func GenerateMasterKeyFile(path string) (created bool, err error) {
	return generateMasterKeyFile(path, func(dst []byte) ([]byte, error) { return appendNewMasterKey(dst, 1) })
}

// GenerateMasterKeyFileWrapped is GenerateMasterKeyFile with the key wrapped by w: the
// file never holds the key itself.
func GenerateMasterKeyFileWrapped(ctx context.Context, path string, w KeyWrapper) (created bool, err error) {
	return generateMasterKeyFile(path, func(dst []byte) ([]byte, error) { return appendWrappedMasterKey(ctx, dst, 1, w) })
}

func generateMasterKeyFile(path string, appendKey func(dst []byte) ([]byte, error)) (created bool, err error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	}
	content, err := appendKey([]byte(masterKeyFileHeader))
	if err != nil {
		return false, err
	}
	defer clear(content)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, MasterKeyFileMode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create master key file: %w", err)
	}
	if _, err := f.Write(content); err != nil {
		_ = f.Close()       // failure path: the error below is what is returned
		_ = os.Remove(path) // no half-written key file is left behind
		return false, fmt.Errorf("write master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()       // failure path: the error below is what is returned
		_ = os.Remove(path) // no half-written key file is left behind
		return false, fmt.Errorf("sync master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path) // no half-written key file is left behind
		return false, fmt.Errorf("close master key file: %w", err)
	}
	syncDir(filepath.Dir(path))
	return true, nil
}

// AddMasterKeyVersion appends a fresh random key with the next version to the key file
// and returns that version. The file is replaced atomically (temporary file in the same
// directory, then rename) and keeps mode 0600; its existing lines and comments are kept.
// The new key becomes current for processes that load the file afterwards. Concurrent
// calls on the same file are not coordinated: run one at a time.
func AddMasterKeyVersion(path string) (newVersion int, err error) {
	return addMasterKeyVersion(path, LoadMasterKeyring, appendNewMasterKey)
}

// AddMasterKeyVersionWrapped is AddMasterKeyVersion for a keyring protected by a KMS:
// the new key is written wrapped by w, and the existing entries must unwrap (plain
// entries are kept as they are: adding a wrapped version, rotating, then deleting the
// plain lines moves a keyring from a file key to the KMS).
func AddMasterKeyVersionWrapped(ctx context.Context, path string, w KeyWrapper) (newVersion int, err error) {
	return addMasterKeyVersion(path,
		func(data []byte) (*MasterKeyring, error) { return LoadMasterKeyringWrapped(ctx, data, w) },
		func(dst []byte, version int) ([]byte, error) { return appendWrappedMasterKey(ctx, dst, version, w) })
}

func addMasterKeyVersion(path string, load func([]byte) (*MasterKeyring, error), appendKey func(dst []byte, version int) ([]byte, error)) (newVersion int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read master key file: %w", err)
	}
	defer clear(data)
	m, err := load(data)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	newVersion = m.Current() + 1
	if newVersion > maxMasterVersion {
		return 0, fmt.Errorf("%s: master key version limit reached", path)
	}
	content := bytes.Clone(data)
	if len(content) > 0 && content[len(content)-1] != '\n' {
		content = append(content, '\n')
	}
	content, err = appendKey(content, newVersion)
	if err != nil {
		return 0, err
	}
	defer clear(content)
	if err := replaceFile(path, content); err != nil {
		return 0, err
	}
	return newVersion, nil
}

// ReadMasterKeyFileWrapped reads a key file whose entries may be wrapped by w.
func ReadMasterKeyFileWrapped(ctx context.Context, path string, w KeyWrapper) (*MasterKeyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	defer clear(data)
	m, err := LoadMasterKeyringWrapped(ctx, data, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// appendNewMasterKey appends "v<version>:<base64 of fresh random key>\n".
func appendNewMasterKey(dst []byte, version int) ([]byte, error) {
	key := make([]byte, MasterKeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	dst = fmt.Appendf(dst, "v%d:", version)
	dst = base64.StdEncoding.AppendEncode(dst, key)
	return append(dst, '\n'), nil
}

// replaceFile writes content to a temporary file beside path and renames it over path.
func replaceFile(path string, content []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary key file: %w", err)
	}
	defer func() {
		if err != nil { // failure path: err is returned; the temporary file goes
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(MasterKeyFileMode); err != nil {
		return fmt.Errorf("chmod temporary key file: %w", err)
	}
	if _, err := tmp.Write(content); err != nil {
		return fmt.Errorf("write temporary key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync temporary key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace master key file: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename or create in dir durable, best effort: some platforms and
// file systems cannot sync a directory, and the file itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
