package lvclient

import (
	"errors"
	"fmt"
	"time"
)

// Error types (APIError.ErrorType) callers commonly branch on.
const (
	ErrInvalidRequest     = "invalidRequest"
	ErrInvalidJSON        = "invalidJson"
	ErrUnauthorized       = "invalidClientCredentials"
	ErrReadOnlyKey        = "readOnlyApiKey"
	ErrScopeMismatch      = "scopeMismatch"
	ErrTokenNotFound      = "tokenNotFound"
	ErrReauthRequired     = "reauthenticationRequired"
	ErrProviderFailure    = "integrationUnavailable"
	ErrProviderRejected   = "integrationRejected"
	ErrInsufficientFunds  = "insufficientFunds"
	ErrTransferNotAllowed = "transferNotAllowed"
	ErrConflict           = "conflict"
	ErrRateLimited        = "rateLimited"
	// ErrServiceUnavailable: linkvault's database did not answer (503 with
	// Retry-After); nothing changed, retry the same call later.
	ErrServiceUnavailable = "serviceUnavailable"
)

// APIError is an answer other than ok. Use errors.As to get it.
type APIError struct {
	HTTPStatus     int    // e.g. 403
	Status         string // envelope status: badRequest, permissionDenied, notFound, conflict, locked, ...
	ErrorType      string // one of the Err* constants (or another documented type)
	Message        string // for the developer
	DisplayMessage string // for the end user, when the server gave one
	// RetryAfter is the server's Retry-After (transient failures, rate limits).
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("linkvault: %d %s/%s: %s", e.HTTPStatus, e.Status, e.ErrorType, e.Message)
}

// ErrorType returns the errorType of err if it is an *APIError, else "".
func ErrorType(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.ErrorType
	}
	return ""
}

// IsReauthRequired reports whether the user must re-authenticate through Link (the
// tokenId stays the same).
func IsReauthRequired(err error) bool { return ErrorType(err) == ErrReauthRequired }

// IsNotFound reports whether the tokenId is unknown (never issued, removed, or not
// this client's: the answer is the same).
func IsNotFound(err error) bool { return ErrorType(err) == ErrTokenNotFound }

// IsTemporary reports whether retrying later may succeed (exchange unavailable or rate
// limited); RetryAfter says when.
func IsTemporary(err error) bool {
	t := ErrorType(err)
	return t == ErrProviderFailure || t == ErrRateLimited
}
