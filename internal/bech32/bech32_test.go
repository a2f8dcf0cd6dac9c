package bech32

import "testing"

// Vectors from BIP 173 and BIP 350 (valid segwit addresses, and ones with one
// character changed or the other checksum constant).
func TestValidSegwit(t *testing.T) {
	for addr, want := range map[string]bool{
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4":                                 true,
		"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq":                                 true,
		"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y": true,
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0":             true,
		"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx":                                 false, // last character changed
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5":                                 false,
		// BIP 350: version 1 with a bech32 (not bech32m) checksum.
		"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4": false,
		// BIP 350: version 0 with a bech32m checksum.
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh": false,
		"bc1": false, "bc1qqqqqq": false,
	} {
		if got := ValidSegwit(addr); got != want {
			t.Errorf("ValidSegwit(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestChecksumCompletesAValidAddress(t *testing.T) {
	for _, addr := range []string{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"} {
		data := addr[3 : len(addr)-6]
		if got := Checksum("bc", data); "bc1"+data+got != addr {
			t.Errorf("Checksum(bc, %s) = %q, want %q", data, got, addr[len(addr)-6:])
		}
	}
}
