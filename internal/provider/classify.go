package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/linkvault/linkvault"
)

// maxRetryAfter caps a provider's Retry-After so a hostile or broken value cannot park a
// connection for days.
const maxRetryAfter = 24 * time.Hour

// ParseRetryAfter parses a Retry-After header value: delay-seconds or an HTTP-date
// (RFC 9110 section 10.2.3), relative to now. It reports false for an empty or
// unparseable value; dates in the past give 0; the result is capped at 24 h.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > maxRetryAfter:
		return maxRetryAfter, true
	}
	return d.Truncate(time.Second), true
}

// knownCodes are the provider error codes an adapter may repeat in a ProviderError.
// Anything else a provider sends is replaced by "http_<status>", so no upstream text
// (which could carry user data or echo secrets) ever reaches an error string.
var knownCodes = map[string]bool{
	// OAuth 2 (RFC 6749, RFC 7009, RFC 6750)
	"invalid_grant": true, "invalid_client": true, "invalid_request": true, "unauthorized_client": true,
	"unsupported_grant_type": true, "invalid_scope": true, "access_denied": true, "unsupported_token_type": true,
	"invalid_token": true, "insufficient_scope": true, "temporarily_unavailable": true, "server_error": true,
	// Coinbase App API error ids
	"expired_token": true, "revoked_token": true, "authentication_error": true, "validation_error": true,
	"not_found": true, "rate_limit_exceeded": true, "internal_server_error": true, "two_factor_required": true,
	"personal_details_required": true, "unverified_email": true, "param_required": true,
	"identity_verification_required": true, "resource_exhausted": true,
	// Uphold
	"validation_failed": true, "quote_expired": true, "unauthorized": true, "forbidden": true,
	"password_reset_restriction": true, "otp_required": true,
	// Binance (numeric codes named by binanceErrors)
	"invalid_api_key": true, "invalid_signature": true, "timestamp_out_of_window": true, "waf_limit": true,
	"ip_banned": true, "insufficient_permissions": true, "travel_rule_required": true, "too_many_requests": true,
	"invalid_api_key_format": true, "key_cannot_read": true, "key_cannot_withdraw": true, "key_can_withdraw": true,
	"key_too_powerful": true, "invalid_symbol": true,
	// transfers
	"insufficient_funds": true, "invalid_amount": true, "invalid_address": true, "invalid_network": true,
	"invalid_tag": true, "below_minimum": true, "above_maximum": true, "network_suspended": true,
	"mfa_required": true, "mfa_invalid": true, "not_supported": true, "rate_limited": true,
}

// reauthCodes mean the credential is dead: the user must authenticate again.
var reauthCodes = map[string]bool{
	"invalid_grant": true, "invalid_token": true, "expired_token": true, "revoked_token": true,
	"authentication_error": true, "unauthorized": true, "invalid_api_key": true, "invalid_signature": true,
}

// rejectedCodes are refusals that leave the credential intact even when they come with
// a 401: our own client credentials being refused (an operator
// problem that a user re-authenticating cannot fix).
var rejectedCodes = map[string]bool{"invalid_client": true}

// sanitizeCode keeps a provider error code only if it is a known one.
func sanitizeCode(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if knownCodes[code] {
		return code
	}
	return ""
}

// classifyStatus turns a non-2xx answer into a ProviderError. code must already be
// sanitized ("" when unknown).
func classifyStatus(b linkvault.BrokerType, op string, status int, header http.Header, code string, now time.Time) *linkvault.ProviderError {
	pe := &linkvault.ProviderError{Broker: b, Op: op, StatusCode: status, Code: code}
	if pe.Code == "" {
		pe.Code = "http_" + strconv.Itoa(status)
	}
	switch {
	case status == http.StatusTooManyRequests:
		pe.Kind = linkvault.ProviderTransient
	case status >= 500, status == http.StatusRequestTimeout:
		pe.Kind = linkvault.ProviderTransient
	case rejectedCodes[code]:
		pe.Kind = linkvault.ProviderRejected
	case reauthCodes[code], status == http.StatusUnauthorized:
		pe.Kind = linkvault.ProviderReauth
	case status >= 400:
		pe.Kind = linkvault.ProviderRejected
	default: // 1xx/3xx where a 2xx was expected
		pe.Kind = linkvault.ProviderTransient
		pe.Code = "unexpected_status"
	}
	// Retry-After comes with a 429, and with Binance's 418 (an IP ban, bnDocsHTTPCodes).
	if (status == http.StatusTooManyRequests || status == http.StatusTeapot) && header != nil {
		pe.RetryAfter, _ = ParseRetryAfter(header.Get("Retry-After"), now)
	}
	return pe
}

// classifyTransport turns a failure to get any answer into a transient ProviderError.
func classifyTransport(b linkvault.BrokerType, op string, err error) *linkvault.ProviderError {
	pe := &linkvault.ProviderError{Broker: b, Op: op, Kind: linkvault.ProviderTransient, Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		pe.Code = "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		pe.Code = "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		pe.Code = "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		pe.Code = "connection_reset"
	default:
		pe.Code = "network_error"
	}
	return pe
}

// invalidResponse reports a 2xx answer that could not be understood. The parse error is
// not kept: its text may quote the body.
func invalidResponse(b linkvault.BrokerType, op string, status int) *linkvault.ProviderError {
	return &linkvault.ProviderError{
		Broker: b, Op: op, Kind: linkvault.ProviderTransient, StatusCode: status, Code: "invalid_response",
	}
}

// rejected builds a refusal decided locally (bad request from the caller).
func rejected(b linkvault.BrokerType, op, code string) *linkvault.ProviderError {
	return &linkvault.ProviderError{Broker: b, Op: op, Kind: linkvault.ProviderRejected, Code: code}
}

// reauth builds a "log in again" decided locally (no refresh token, session expired).
func reauth(b linkvault.BrokerType, op, code string) *linkvault.ProviderError {
	return &linkvault.ProviderError{Broker: b, Op: op, Kind: linkvault.ProviderReauth, Code: code}
}

// classifyOAuth maps errors of golang.org/x/oauth2 (token endpoint calls). A
// *oauth2.RetrieveError is never kept as the cause: its Error() quotes the body.
func classifyOAuth(b linkvault.BrokerType, op string, err error, now time.Time) *linkvault.ProviderError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status, header := 0, http.Header(nil)
		if re.Response != nil {
			status, header = re.Response.StatusCode, re.Response.Header
		}
		code := sanitizeCode(re.ErrorCode)
		if status >= 200 && status < 300 { // an error code inside a 200
			status = http.StatusBadRequest
		}
		pe := classifyStatus(b, op, status, header, code, now)
		pe.Err = fmt.Errorf("token endpoint answered %d", status)
		return pe
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return classifyTransport(b, op, err)
	}
	return invalidResponse(b, op, 0)
}
