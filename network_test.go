package linkvault

import (
	"crypto/sha1"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// meshNetworkIDs are the network ids Mesh's OpenAPI document shows in its examples
// (FrontFin/mesh-web-sdk packages/node-api/swagger.json @ e7c178a): the transfer
// configure and Link initialization examples (ETH/USDC/MATIC/USDT/BTC destinations),
// the deposit address example (DOGE) and the token networks example (ADA, "Cardano").
var meshNetworkIDs = map[string]string{
	"ethereum": "e3c7fdd8-b1fc-4e51-85ae-bb276e075611",
	"polygon":  "7436e9d0-ba42-4d2b-b4c0-8e4e606b2c12",
	"solana":   "0291810a-5947-424d-9a59-e88bb33e999d",
	"bitcoin":  "0880db06-7c7c-4738-898f-cf74efc03c47",
	"dogecoin": "34b66a94-f9f9-49ef-81e8-6ebd5a866f9d",
	"cardano":  "f7a660cd-bac0-4ae8-8ddb-c54d321b55dc",
}

// uuidV5URL is RFC 9562's name-based UUID (SHA-1) in the URL namespace.
func uuidV5URL(name string) string {
	ns := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.Sum(append(ns, name...))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func TestNetworkIDs(t *testing.T) {
	if got := uuidV5URL("http://python.org/"); got != "4c565f0d-3f5a-5890-b41b-20cf47701c5e" {
		t.Fatalf("uuidV5URL self-check = %s", got) // Python's uuid module documentation example
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	ids, codes := map[string]bool{}, map[string]bool{}
	for _, n := range Networks {
		if !uuidRE.MatchString(n.ID) || ids[n.ID] || codes[n.Code] || n.Code != strings.ToLower(n.Code) || n.Name == "" || n.NativeSymbol == "" {
			t.Fatalf("network %+v: bad or duplicate id/code", n)
		}
		ids[n.ID], codes[n.Code] = true, true
		want := uuidV5URL("urn:linkvault:network:" + n.Code)
		if mesh, ok := meshNetworkIDs[n.Code]; ok {
			want = mesh
		}
		if n.ID != want {
			t.Errorf("%s: ID %s, want %s", n.Code, n.ID, want)
		}
		if got, ok := NetworkByID(strings.ToUpper(n.ID)); !ok || got.Code != n.Code {
			t.Errorf("NetworkByID(%s) = %+v, %v", n.ID, got, ok)
		}
		if got, ok := LookupNetwork(strings.ToUpper(n.Code)); !ok || got.ID != n.ID {
			t.Errorf("LookupNetwork(%s) = %+v, %v", n.Code, got, ok)
		}
	}
	for code := range meshNetworkIDs {
		if !codes[code] {
			t.Errorf("Mesh network %s missing from Networks", code)
		}
	}
	if _, ok := NetworkByID("00000000-0000-0000-0000-000000000000"); ok {
		t.Error("NetworkByID found the nil UUID")
	}
}
