package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Ciphertext layout (credentials and wrapped data keys alike):
//
//	byte 0      format version (formatV1)
//	bytes 1-12  random 96-bit GCM nonce
//	rest        AES-256-GCM ciphertext followed by the 16-byte tag
//
// The associated data is never stored: it is rebuilt from the row the ciphertext is
// read from, so a ciphertext copied onto another row fails authentication.
const (
	formatV1 byte = 1
	// formatV2 marks connection credentials sealed by SealCredential: the same
	// layout, with associated data binding the whole row (credentialRowAAD) and the
	// compact credential encoding inside.
	formatV2 byte = 2
)

const (
	nonceSize = 12
	tagSize   = 16
	// sealOverhead is how much longer a ciphertext is than its plaintext.
	sealOverhead = 1 + nonceSize + tagSize
)

// Domain-separation labels that start every associated data, so a credential
// ciphertext can never be accepted as a wrapped data key or the other way round.
const (
	credentialLabel = "linkvault-credential-v1"
	dataKeyLabel    = "linkvault-datakey-v1"
)

// DataKeySize is the size of a data key: 256 bits.
const DataKeySize = 32

// errMalformed and errAuth are causes kept inside the generic *linkvault.Error for
// logs; neither carries ciphertext bytes or key material.
var (
	errMalformed = errors.New("envelope: ciphertext is malformed")
	errAuth      = errors.New("envelope: ciphertext failed authentication")
)

// appendField appends a length-prefixed field. Length prefixes make the encoding
// injective: no choice of field values can shift bytes from one field into another.
func appendField(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func appendIntField(dst []byte, v int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, 8)
	return binary.BigEndian.AppendUint64(dst, uint64(v))
}

// credentialAADSize is the length of credentialAAD's output.
func credentialAADSize(clientID, tokenID string) int {
	return 4*4 + len(credentialLabel) + len(clientID) + len(tokenID) + 8
}

// credentialAAD is the canonical encoding of
// ("linkvault-credential-v1", clientID, tokenID, keyVersion).
func credentialAAD(dst []byte, clientID, tokenID string, keyVersion int) []byte {
	dst = appendField(dst, credentialLabel)
	dst = appendField(dst, clientID)
	dst = appendField(dst, tokenID)
	return appendIntField(dst, keyVersion)
}

// dataKeyAAD binds a wrapped data key to its client, its version and the master key
// version that wrapped it.
func dataKeyAAD(clientID string, dataKeyVersion, masterVersion int) []byte {
	dst := make([]byte, 0, 64+len(clientID))
	dst = appendField(dst, dataKeyLabel)
	dst = appendField(dst, clientID)
	dst = appendIntField(dst, dataKeyVersion)
	return appendIntField(dst, masterVersion)
}

// sealTo appends formatV1 and the random-nonce GCM sealing of plaintext to dst.
// aead must come from cipher.NewGCMWithRandomNonce.
func sealTo(dst []byte, aead cipher.AEAD, plaintext, aad []byte) []byte {
	dst = append(dst, formatV1)
	return aead.Seal(dst, nil, plaintext, aad)
}

// openTo checks the format byte and appends the plaintext to dst.
func openTo(dst []byte, aead cipher.AEAD, ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < sealOverhead || ciphertext[0] != formatV1 {
		return nil, errMalformed
	}
	out, err := aead.Open(dst, nil, ciphertext[1:], aad)
	if err != nil {
		return nil, errAuth
	}
	return out, nil
}

// newDataKeyAEAD builds the cipher of an unwrapped data key.
func newDataKeyAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: data key: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// newDataKey returns fresh random key bytes.
func newDataKey() ([]byte, error) {
	key := make([]byte, DataKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("envelope: generate data key: %w", err)
	}
	return key, nil
}

// wrap seals a data key under the master key version masterVersion of m.
func (m *MasterKeyring) wrap(clientID string, dataKeyVersion, masterVersion int, key []byte) ([]byte, error) {
	aead, ok := m.aeads[masterVersion]
	if !ok {
		return nil, fmt.Errorf("envelope: master key v%d is not in the keyring", masterVersion)
	}
	aad := dataKeyAAD(clientID, dataKeyVersion, masterVersion)
	return sealTo(make([]byte, 0, sealOverhead+len(key)), aead, key, aad), nil
}

// unwrap opens a wrapped data key. The caller clears the returned key bytes.
func (m *MasterKeyring) unwrap(clientID string, dataKeyVersion, masterVersion int, wrapped []byte) ([]byte, error) {
	aead, ok := m.aeads[masterVersion]
	if !ok {
		return nil, fmt.Errorf("envelope: data key v%d of client %q is wrapped by master key v%d, which is not in the keyring", dataKeyVersion, clientID, masterVersion)
	}
	key, err := openTo(nil, aead, wrapped, dataKeyAAD(clientID, dataKeyVersion, masterVersion))
	if err != nil {
		return nil, fmt.Errorf("envelope: unwrap data key v%d of client %q with master key v%d: %w", dataKeyVersion, clientID, masterVersion, err)
	}
	if len(key) != DataKeySize {
		clear(key)
		return nil, fmt.Errorf("envelope: data key v%d of client %q has the wrong size", dataKeyVersion, clientID)
	}
	return key, nil
}
