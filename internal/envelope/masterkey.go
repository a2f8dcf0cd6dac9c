package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// MasterKeySize is the size of a master key: 256 bits.
const MasterKeySize = 32

// MasterKeyring holds versioned master keys. The highest version is current: it wraps
// new and rotated data keys; older versions stay only to unwrap data keys that were not
// rotated yet.
//
// The keys are held as ready AES-GCM instances in unexported fields, and every
// formatting path (fmt verbs, slog, JSON) prints only the version numbers, so a keyring
// can be logged without leaking key material.
type MasterKeyring struct {
	current int
	aeads   map[int]cipher.AEAD
}

// Current returns the version of the current master key.
func (m *MasterKeyring) Current() int { return m.current }

// Versions returns the versions in the keyring, ascending.
func (m MasterKeyring) Versions() []int {
	vs := make([]int, 0, len(m.aeads))
	for v := range m.aeads {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// Has reports whether the keyring holds master key version v.
func (m *MasterKeyring) Has(v int) bool {
	_, ok := m.aeads[v]
	return ok
}

// The formatting methods below have value receivers so that a copied keyring value
// redacts itself too.

// String describes the keyring by its versions only.
func (m MasterKeyring) String() string {
	return fmt.Sprintf("envelope.MasterKeyring(current=v%d, versions=%v, keys=[redacted])", m.current, m.Versions())
}

// GoString implements fmt.GoStringer (%#v) without key material.
func (m MasterKeyring) GoString() string { return m.String() }

// Format implements fmt.Formatter so every verb prints the redacted description.
func (m MasterKeyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue implements slog.LogValuer.
func (m MasterKeyring) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("current", m.current), slog.Any("versions", m.Versions()))
}

// MarshalJSON describes the keyring by its versions only.
func (m MasterKeyring) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"current":%d,"versions":%s}`, m.current, versionsJSON(m.Versions())), nil
}

func versionsJSON(vs []int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.Itoa(v)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// maxMasterVersion bounds version numbers so they fit every store column comfortably.
const maxMasterVersion = 1_000_000

// LoadMasterKeyring parses master keys in the key-file format:
//
//	# comments start with '#'
//	v1:<base64 of 32 random bytes>
//	v2:<base64 of 32 random bytes>
//
// Entries are separated by newlines, spaces or commas (so the same text fits in one
// environment variable). The highest version is current. Errors name the line and
// entry but never quote the key text.
func LoadMasterKeyring(data []byte) (*MasterKeyring, error) {
	return loadMasterKeyring(data, nil)
}

// loadMasterKeyring parses key-file text; unwrap turns wrapped entries into keys (nil:
// wrapped entries are an error).
func loadMasterKeyring(data []byte, unwrap unwrapFunc) (*MasterKeyring, error) {
	m := &MasterKeyring{aeads: make(map[int]cipher.AEAD)}
	for i, line := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		if j := bytes.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		fields := bytes.FieldsFunc(line, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '\r' || r == ','
		})
		for k, field := range fields {
			where := fmt.Sprintf("line %d", lineNo)
			if len(fields) > 1 {
				where = fmt.Sprintf("line %d, entry %d", lineNo, k+1)
			}
			version, key, err := parseMasterKeyEntry(field, unwrap)
			if err != nil {
				return nil, fmt.Errorf("master key %s: %w", where, err)
			}
			if _, dup := m.aeads[version]; dup {
				clear(key)
				return nil, fmt.Errorf("master key %s: version v%d appears more than once", where, version)
			}
			aead, err := newWrapAEAD(key)
			clear(key)
			if err != nil {
				return nil, fmt.Errorf("master key %s: %w", where, err)
			}
			m.aeads[version] = aead
			m.current = max(m.current, version)
		}
	}
	if len(m.aeads) == 0 {
		return nil, fmt.Errorf("master key: no key found; expected lines of the form v<N>:<base64 of %d random bytes>", MasterKeySize)
	}
	return m, nil
}

// parseMasterKeyEntry parses "v<N>:<base64>", or "v<N>:<kind>:<base64>" for a key
// wrapped by a KMS, which unwrap opens. Its errors never include the key text.
func parseMasterKeyEntry(field []byte, unwrap unwrapFunc) (int, []byte, error) {
	versionPart, keyPart, ok := bytes.Cut(field, []byte(":"))
	if !ok || len(versionPart) < 2 || versionPart[0] != 'v' {
		return 0, nil, fmt.Errorf("expected v<N>:<base64 of %d random bytes>", MasterKeySize)
	}
	version, err := strconv.Atoi(string(versionPart[1:]))
	if err != nil || version < 1 || version > maxMasterVersion {
		return 0, nil, fmt.Errorf("version must be v1 to v%d", maxMasterVersion)
	}
	kind, blob, wrapped, err := splitWrapped(keyPart)
	if err != nil {
		return 0, nil, fmt.Errorf("key v%d: %w", version, err)
	}
	if wrapped {
		if unwrap == nil {
			return 0, nil, fmt.Errorf("key v%d is wrapped by %s, but no KMS is configured to unwrap it", version, kind)
		}
		key, err := unwrap(version, kind, blob)
		if err != nil {
			return 0, nil, err
		}
		if len(key) != MasterKeySize || allZero(key) {
			clear(key)
			return 0, nil, fmt.Errorf("key v%d: %s returned %d bytes, not a %d-byte key", version, kind, len(key), MasterKeySize)
		}
		return version, key, nil
	}
	key, err := decodeKey(keyPart)
	if err != nil {
		return 0, nil, fmt.Errorf("key v%d: %w", version, err)
	}
	return version, key, nil
}

func decodeKey(text []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if !bytes.HasSuffix(text, []byte("=")) {
		enc = base64.RawStdEncoding
	}
	key := make([]byte, enc.DecodedLen(len(text)))
	n, err := enc.Decode(key, text)
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("not valid standard base64")
	}
	key = key[:n]
	if len(key) != MasterKeySize {
		clear(key)
		return nil, fmt.Errorf("decodes to %d bytes, want %d", n, MasterKeySize)
	}
	if allZero(key) {
		return nil, fmt.Errorf("all bytes are zero; generate a random key")
	}
	return key, nil
}

func allZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// newWrapAEAD returns AES-256-GCM with a random nonce prepended by Seal.
func newWrapAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cannot build AES cipher: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}
