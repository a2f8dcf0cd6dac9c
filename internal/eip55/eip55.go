// Package eip55 checks the mixed-case checksum of EVM addresses (EIP-55), so a mistyped
// address is refused before any exchange is asked to send to it. The hash is Ethereum's
// Keccak-256 (the original Keccak padding, not FIPS 202 SHA3-256), from
// golang.org/x/crypto/sha3.
package eip55

import (
	"encoding/hex"
	"strings"

	"golang.org/x/crypto/sha3"
)

// Valid reports whether addr ("0x" and 40 hex digits) passes EIP-55: an address in one
// case carries no checksum and passes; a mixed-case one must have each letter
// uppercase exactly where the Keccak-256 of the lowercase address has a nibble ≥ 8.
func Valid(addr string) bool {
	hexPart, ok := strings.CutPrefix(addr, "0x")
	if !ok || len(hexPart) != 40 {
		return false
	}
	lower := strings.ToLower(hexPart)
	if _, err := hex.DecodeString(lower); err != nil {
		return false
	}
	if hexPart == lower || hexPart == strings.ToUpper(hexPart) {
		return true
	}
	return addr == Checksummed(addr)
}

// Checksummed is addr ("0x" and 40 hex digits) in its EIP-55 mixed case.
func Checksummed(addr string) string {
	lower := strings.ToLower(strings.TrimPrefix(addr, "0x"))
	sum := Keccak256([]byte(lower))
	out := []byte(lower)
	for i, c := range out {
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0xf
		}
		if c >= 'a' && nibble >= 8 {
			out[i] = c - 'a' + 'A'
		}
	}
	return "0x" + string(out)
}

// Keccak256 is Ethereum's Keccak-256 hash of data.
func Keccak256(data []byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(data) // a hash.Hash never fails to write
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
