package eip55

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Keccak-256 vectors (Ethereum's hash of "" and of "abc").
func TestKeccak256(t *testing.T) {
	for in, want := range map[string]string{
		"":    "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
		"abc": "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
	} {
		sum := Keccak256([]byte(in))
		if hex.EncodeToString(sum[:]) != want {
			t.Errorf("Keccak256(%q) = %x, want %s", in, sum, want)
		}
	}
}

// The examples of EIP-55.
var eipExamples = []string{
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
}

func TestValid(t *testing.T) {
	for _, a := range eipExamples {
		if !Valid(a) || Checksummed(strings.ToLower(a)) != a {
			t.Errorf("%s: Valid %v, Checksummed %s", a, Valid(a), Checksummed(strings.ToLower(a)))
		}
		if !Valid(strings.ToLower(a)) || !Valid("0x"+strings.ToUpper(a[2:])) {
			t.Errorf("%s in one case is refused", a)
		}
		// One letter's case flipped: the checksum no longer holds.
		b := []byte(a)
		for i := 2; i < len(b); i++ {
			if c := b[i]; c >= 'a' && c <= 'f' {
				b[i] = c - 'a' + 'A'
				break
			}
		}
		if Valid(string(b)) {
			t.Errorf("%s accepted", b)
		}
	}
	for _, bad := range []string{"", "0x", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00", "0xZaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"} {
		if Valid(bad) {
			t.Errorf("Valid(%q)", bad)
		}
	}
}
