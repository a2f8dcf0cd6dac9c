package config

import (
	"strings"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		env     fakeEnv
		files   fakeFiles
		path    string
		want    string // Prefixes.String() of the result
		problem string // substring of the load error, if any
	}{
		{name: "default trusts none", want: ""},
		{name: "CIDR list with spaces", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": " 10.0.0.0/8, 2001:db8::/32 ,"}, want: "10.0.0.0/8,2001:db8::/32"},
		{name: "single addresses", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "192.0.2.7,::1"}, want: "192.0.2.7/32,::1/128"},
		{name: "host bits are masked", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "10.1.2.3/8"}, want: "10.0.0.0/8"},
		{name: "from the file", path: "/lv.json", files: fakeFiles{"/lv.json": `{"trustedProxies": "172.16.0.0/12"}`}, want: "172.16.0.0/12"},
		{name: "not an address", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"}, problem: `LINKVAULT_TRUSTED_PROXIES: "proxy.internal" is not an IP address or CIDR prefix`},
		{name: "bad prefix length", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "10.0.0.0/33"}, problem: `"10.0.0.0/33" is not a CIDR prefix`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.path, tt.env.lookup, tt.files.read)
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("Load error = %v, want one containing %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.TrustedProxies.String(); got != tt.want {
				t.Errorf("TrustedProxies = %q, want %q", got, tt.want)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}
