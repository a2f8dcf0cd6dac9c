package http

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/ratelimit"
)

// limits are the server's abuse limits. Failed authentications are counted per client
// IP and per claimed client id:
//   - an IP over its limit is refused before its credentials are even checked;
//   - a client id over its limit only changes the answer to further *failed* attempts
//     (429 instead of 401), so an attacker naming a real client's id cannot lock that
//     client out: requests with the right secret still succeed.
type limits struct {
	authIP     *ratelimit.Keyed
	authClient *ratelimit.Keyed
	linkTokens *ratelimit.Keyed
}

func newLimits(cfg Config, now func() time.Time) limits {
	return limits{
		authIP:     ratelimit.New(cfg.AuthFailuresPerIP, 0, now),
		authClient: ratelimit.New(cfg.AuthFailuresPerClient, 0, now),
		linkTokens: ratelimit.New(cfg.LinkTokensPerClient, 0, now),
	}
}

func errTooMany(what string, wait time.Duration) *linkvault.Error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &linkvault.Error{Status: linkvault.StatusTooManyRequests, Type: linkvault.ErrTypeRateLimited,
		Message: fmt.Sprintf("Too many %s; retry after %d seconds.", what, secs), RetryAfter: wait}
}

// checkIP refuses an IP that exhausted its failed-authentication budget.
func (l limits) checkIP(ip string) error {
	if blocked, wait := l.authIP.Blocked(ip); blocked {
		return errTooMany("failed authentication attempts from this address", wait)
	}
	return nil
}

// authFailed counts a failed authentication and returns the error to answer with.
func (l limits) authFailed(ip, clientID string, cause error) error {
	okIP, waitIP := l.authIP.Take(ip)
	okClient, waitClient := true, time.Duration(0)
	if clientID != "" {
		okClient, waitClient = l.authClient.Take(clientID)
	}
	switch {
	case !okIP:
		return errTooMany("failed authentication attempts from this address", waitIP)
	case !okClient:
		return errTooMany("failed authentication attempts for this client id", waitClient)
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

// clientIP is the peer address of the request. linkvault does not trust forwarding
// headers: behind a proxy, every request shares the proxy's limit (see docs/operations.md).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
