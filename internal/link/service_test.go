package link

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/linkvault/linkvault"
)

func TestParsePublicURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://vault.example.com", "https://vault.example.com", true},
		{"https://vault.example.com/", "https://vault.example.com", true},
		{"http://127.0.0.1:8080/base/", "http://127.0.0.1:8080/base", true},
		{"", "", false},
		{"vault.example.com", "", false},
		{"ftp://vault.example.com", "", false},
		{"https://vault.example.com/?a=b", "", false},
		{"https://user:pw@vault.example.com", "", false},
		{"https:///path", "", false},
	}
	for _, tt := range tests {
		got, err := ParsePublicURL(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePublicURL(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestPayloadShape(t *testing.T) {
	c := &linkvault.Connection{
		TokenID:            "tok_123",
		ConnectionIdentity: linkvault.ConnectionIdentity{BrokerType: linkvault.BrokerCoinbase},
		Accounts:           []linkvault.Account{{AccountID: "a1", AccountName: "Main", Fund: 10, Cash: 2}, {AccountID: "a2", AccountName: "Vault"}},
	}
	p := Payload(c, linkvault.Integration{Name: "Coinbase", BrandColor: "#0052FF"}, "https://v.example")
	if p.BrokerType != "coinbase" || p.BrokerName != "Coinbase" || p.ExpiresInSeconds != nil {
		t.Fatalf("payload = %+v", p)
	}
	// brokerLogo is the image itself, base64 (Mesh's BrandInfo); the URL fields point at it.
	logo, err := base64.StdEncoding.DecodeString(p.BrokerBrandInfo.BrokerLogo)
	if err != nil || !bytes.HasPrefix(logo, []byte("<svg")) {
		t.Fatalf("brokerLogo is not a base64 SVG: %q (%v)", p.BrokerBrandInfo.BrokerLogo, err)
	}
	bi := p.BrokerBrandInfo
	for _, u := range []string{bi.BrokerLogoURL, bi.LogoLightURL, bi.LogoDarkURL, bi.IconLightURL, bi.IconDarkURL} {
		if u != "https://v.example/link/assets/logos/coinbase.svg" {
			t.Fatalf("logo URL %q", u)
		}
	}
	if len(p.AccountTokens) != 2 {
		t.Fatalf("%d account tokens", len(p.AccountTokens))
	}
	a, b := p.AccountTokens[0], p.AccountTokens[1]
	if a.TokenID != "tok_123" || a.AccessToken != "tok_123" || a.Account.AccountID != "a1" || a.Account.Fund != 10 || a.Account.Cash != 2 {
		t.Fatalf("first = %+v", a)
	}
	if a.Account.MeshAccountID == "" || a.Account.MeshAccountID != a.Account.FrontAccountID || a.Account.MeshAccountID == b.Account.MeshAccountID {
		t.Fatalf("account ids: %q %q", a.Account.MeshAccountID, b.Account.MeshAccountID)
	}
	if again := Payload(c, linkvault.Integration{Name: "Coinbase"}, "https://v.example"); again.AccountTokens[0].Account.MeshAccountID != a.Account.MeshAccountID {
		t.Fatal("meshAccountId is not stable")
	}
}

func TestPlausibleBearer(t *testing.T) {
	for in, want := range map[string]bool{
		linkvault.NewRandomID(24): true, "short": false, "": false, "has space in it!!!!": false,
		"../../../../etc/passwd": false, string(make([]byte, 200)): false,
	} {
		if got := plausibleBearer(in); got != want {
			t.Errorf("plausibleBearer(%q) = %v", in, got)
		}
	}
}
