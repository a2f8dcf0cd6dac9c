package http

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/ratelimit"
)

// limits are the server's abuse limits.
//
// Failed API authentications are counted per (source address, claimed client id). A
// source over its budget for a client id gets 429 instead of 401 for further *failed*
// attempts only: credentials are always checked first, and a request that presents a
// valid secret is never refused. So nobody can lock a client out, not even from behind
// the same proxy or NAT (issue 15, failure 2). The source is the peer address, or, when
// the peer is a trusted proxy (Config.TrustedProxies), the rightmost untrusted hop of
// X-Forwarded-For (sourceOf).
type limits struct {
	authFailures *ratelimit.Keyed
	linkTokens   *ratelimit.Keyed
	proxies      []netip.Prefix
}

func newLimits(cfg Config, now func() time.Time) limits {
	proxies := make([]netip.Prefix, 0, len(cfg.TrustedProxies))
	for _, p := range cfg.TrustedProxies {
		proxies = append(proxies, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
	}
	return limits{
		authFailures: ratelimit.New(cfg.AuthFailures, 0, now),
		linkTokens:   ratelimit.New(cfg.LinkTokensPerClient, 0, now),
		proxies:      proxies,
	}
}

// unmappedBits is p's prefix length once an IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/n)
// is written as IPv4.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return p.Bits() - 96
	}
	return p.Bits()
}

func errTooMany(what string, wait time.Duration) *linkvault.Error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &linkvault.Error{Status: linkvault.StatusTooManyRequests, Type: linkvault.ErrTypeRateLimited,
		Message: fmt.Sprintf("Too many %s; retry after %d seconds.", what, secs), RetryAfter: wait}
}

// authFailed counts a failed authentication of clientID from source and returns the
// error to answer with: cause within the budget, 429 beyond it. clientID must already
// be bounded (a valid client id or ""), since it becomes part of a table key.
func (l limits) authFailed(source, clientID string, cause error) error {
	if ok, wait := l.authFailures.Take(source + " " + clientID); !ok {
		return errTooMany("failed authentication attempts from this address for this client id", wait)
	}
	return cause
}

// takeLinkToken counts one linkToken creation for the client.
func (l limits) takeLinkToken(clientID string) error {
	if ok, wait := l.linkTokens.Take(clientID); !ok {
		return errTooMany("linkToken requests for this client", wait)
	}
	return nil
}

// maxForwardedHops bounds how many X-Forwarded-For entries are examined.
const maxForwardedHops = 16

// sourceOf is the address a request is counted under. It is the peer address unless
// the peer is a trusted proxy; then X-Forwarded-For is read from the right, each hop
// appended by the proxy to its right, and the first hop that is not itself a trusted
// proxy is the source. Entries left of it were written by the client and are ignored,
// so a client cannot choose its source by forging the header. If every hop is trusted,
// or an entry is unreadable, the last trusted hop is the source. IPv6 sources count per
// /64, the block one subscriber usually holds.
func (l limits) sourceOf(r *http.Request) string {
	addr, ok := peerAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !l.trusted(addr) {
		return sourceKey(addr)
	}
	hops := r.Header.Values("X-Forwarded-For")
	seen := 0
	for i := len(hops) - 1; i >= 0 && seen < maxForwardedHops; i-- {
		line := hops[i]
		for line != "" && seen < maxForwardedHops {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			seen++
			hop, ok := forwardedAddr(entry)
			if !ok {
				return sourceKey(addr)
			}
			addr = hop
			if !l.trusted(addr) {
				return sourceKey(addr)
			}
		}
	}
	return sourceKey(addr)
}

func (l limits) trusted(a netip.Addr) bool {
	for _, p := range l.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr parses the RemoteAddr net/http sets ("ip:port").
func peerAddr(remote string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// forwardedAddr parses one X-Forwarded-For entry: an address, or an address with a
// port as some proxies write it ("192.0.2.1:4711", "[2001:db8::1]:4711").
func forwardedAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// sourceKey is the rate-limit key of an address: IPv4 as is, IPv6 by its /64.
func sourceKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
