// Package eip55 checks the mixed-case checksum of EVM addresses (EIP-55), so a mistyped
// address is refused before any exchange is asked to send to it. It carries its own
// Keccak-256 (the original Keccak padding Ethereum uses, not FIPS 202 SHA3-256, which
// the standard library has).
package eip55

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"strings"
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
	sum := Keccak256([]byte(lower))
	for i := 0; i < 40; i++ {
		c := hexPart[i]
		if c < 'A' || (c > 'F' && c < 'a') || c > 'f' {
			continue // a digit
		}
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0xf
		}
		if (nibble >= 8) != (c <= 'F') {
			return false
		}
	}
	return true
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

const rate = 136 // bytes absorbed per permutation for a 256-bit output

// Keccak256 is the Keccak-256 hash of data (padding 0x01 … 0x80).
func Keccak256(data []byte) [32]byte {
	var st [25]uint64
	absorb := func(block []byte) {
		for i := 0; i < rate/8; i++ {
			st[i] ^= binary.LittleEndian.Uint64(block[8*i:])
		}
		keccakF(&st)
	}
	for len(data) >= rate {
		absorb(data[:rate])
		data = data[rate:]
	}
	var last [rate]byte
	copy(last[:], data)
	last[len(data)] ^= 0x01
	last[rate-1] ^= 0x80
	absorb(last[:])
	var out [32]byte
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(out[8*i:], st[i])
	}
	return out
}

var roundConstants = [24]uint64{
	0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
	0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
	0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
	0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
	0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
	0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
}

var (
	rotations = [24]int{1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44}
	piLanes   = [24]int{10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1}
)

// keccakF is the Keccak-f[1600] permutation.
func keccakF(st *[25]uint64) {
	var c [5]uint64
	for r := 0; r < 24; r++ {
		for i := 0; i < 5; i++ { // θ
			c[i] = st[i] ^ st[i+5] ^ st[i+10] ^ st[i+15] ^ st[i+20]
		}
		for i := 0; i < 5; i++ {
			t := c[(i+4)%5] ^ bits.RotateLeft64(c[(i+1)%5], 1)
			for j := 0; j < 25; j += 5 {
				st[j+i] ^= t
			}
		}
		t := st[1] // ρ and π
		for i := 0; i < 24; i++ {
			j := piLanes[i]
			c[0] = st[j]
			st[j] = bits.RotateLeft64(t, rotations[i])
			t = c[0]
		}
		for j := 0; j < 25; j += 5 { // χ
			for i := 0; i < 5; i++ {
				c[i] = st[j+i]
			}
			for i := 0; i < 5; i++ {
				st[j+i] ^= ^c[(i+1)%5] & c[(i+2)%5]
			}
		}
		st[0] ^= roundConstants[r] // ι
	}
}
