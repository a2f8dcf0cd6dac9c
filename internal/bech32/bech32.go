// Package bech32 checks and completes the checksums of segwit addresses (BIP 173's
// bech32 for witness version 0, BIP 350's bech32m for versions 1 to 16), so a mistyped
// Bitcoin address is refused before any exchange is asked to send to it.
package bech32

import "strings"

// Charset is the bech32 alphabet: the character of each 5-bit value.
const Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

const (
	constBech32  = 1
	constBech32m = 0x2bc830a3
)

func polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func hrpExpand(hrp string) []byte {
	out := make([]byte, 0, 2*len(hrp)+1)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

// ValidSegwit reports whether addr, lowercase, is a segwit address whose checksum
// holds: bech32 for witness version 0 (q), bech32m for the later versions.
func ValidSegwit(addr string) bool {
	sep := strings.LastIndexByte(addr, '1')
	if sep < 1 || len(addr)-sep-1 < 7 {
		return false
	}
	hrp, data := addr[:sep], addr[sep+1:]
	values := hrpExpand(hrp)
	for i := 0; i < len(data); i++ {
		v := strings.IndexByte(Charset, data[i])
		if v < 0 {
			return false
		}
		values = append(values, byte(v))
	}
	want := uint32(constBech32m)
	if data[0] == Charset[0] {
		want = constBech32
	}
	return polymod(values) == want
}

// Checksum is the six characters that complete the witness-version-0 address
// hrp + "1" + data (data in Charset, starting with its version, q).
func Checksum(hrp, data string) string {
	values := hrpExpand(hrp)
	for i := 0; i < len(data); i++ {
		values = append(values, byte(strings.IndexByte(Charset, data[i])))
	}
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := polymod(values) ^ constBech32
	out := make([]byte, 6)
	for i := range out {
		out[i] = Charset[(mod>>(5*(5-i)))&31]
	}
	return string(out)
}
