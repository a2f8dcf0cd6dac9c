package http

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestSourceOf(t *testing.T) {
	proxies := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:ffff::/48"),
		netip.MustParsePrefix("::ffff:192.0.2.0/120"), // IPv4-mapped form of 192.0.2.0/24
	}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		xff     []string // header lines, in order
		want    string
	}{
		{"no proxies trusted: header ignored", nil, "10.1.1.1:5000", []string{"203.0.113.7"}, "10.1.1.1"},
		{"untrusted peer: header ignored", proxies, "198.51.100.4:5000", []string{"203.0.113.7"}, "198.51.100.4"},
		{"trusted peer without header", proxies, "10.1.1.1:5000", nil, "10.1.1.1"},
		{"trusted peer, one hop", proxies, "10.1.1.1:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"forged hops left of the real client", proxies, "10.1.1.1:5000", []string{"1.1.1.1, 8.8.8.8, 203.0.113.7"}, "203.0.113.7"},
		{"chain of trusted proxies", proxies, "10.1.1.1:5000", []string{"203.0.113.7, 10.9.9.9, 10.2.2.2"}, "203.0.113.7"},
		{"several header lines", proxies, "10.1.1.1:5000", []string{"1.1.1.1, 203.0.113.7", "10.2.2.2"}, "203.0.113.7"},
		{"every hop trusted", proxies, "10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"unreadable hop: the last trusted one counts", proxies, "10.1.1.1:5000", []string{"203.0.113.7, unknown"}, "10.1.1.1"},
		{"hop with a port", proxies, "10.1.1.1:5000", []string{"203.0.113.7:4711"}, "203.0.113.7"},
		{"IPv6 hop with a port", proxies, "10.1.1.1:5000", []string{"[2001:db8:1:2:3:4:5:6]:4711"}, "2001:db8:1:2::/64"},
		{"IPv6 sources count per /64", nil, "[2001:db8:1:2:aaaa::1]:5000", nil, "2001:db8:1:2::/64"},
		{"trusted IPv6 proxy", proxies, "[2001:db8:ffff:1::1]:443", []string{"203.0.113.7"}, "203.0.113.7"},
		{"mapped IPv4 peer matches an IPv4 prefix", proxies, "[::ffff:10.1.1.1]:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"IPv4 peer matches a mapped prefix", proxies, "192.0.2.9:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"empty entries are skipped", proxies, "10.1.1.1:5000", []string{" , 203.0.113.7 ,, "}, "203.0.113.7"},
		{"hops beyond the bound are not read", proxies, "10.1.1.1:5000", []string{"203.0.113.7, " + strings.Repeat("10.0.0.1, ", 40) + "10.0.0.1"}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimits(Config{TrustedProxies: tt.proxies}, nil)
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := l.sourceOf(r); got != tt.want {
				t.Errorf("sourceOf = %q, want %q", got, tt.want)
			}
		})
	}
}
