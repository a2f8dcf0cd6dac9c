package linkvault

import (
	"errors"
	"fmt"
	"time"
)

// Status values of the Mesh response envelope. Every failure carries one of them;
// internal/http maps each to exactly one HTTP status in a single table.
const (
	StatusOK               = "ok"
	StatusServerFailure    = "serverFailure"
	StatusPermissionDenied = "permissionDenied"
	StatusBadRequest       = "badRequest"
	StatusNotFound         = "notFound"
	StatusConflict         = "conflict"
	StatusTooManyRequests  = "tooManyRequest"
	StatusLocked           = "locked"
	// StatusUnauthorized is used for missing or wrong API credentials. On the wire it
	// is reported as permissionDenied (the envelope has no separate value) with HTTP 401.
	StatusUnauthorized = "unauthorized"
)

// Error types: the stable, machine-readable errorType of the envelope that callers branch on.
const (
	ErrTypeInvalidRequest = "invalidRequest"
	ErrTypeInvalidJSON    = "invalidJson"
	ErrTypeBodyTooLarge   = "requestTooLarge"
	ErrTypeUnauthorized   = "invalidClientCredentials"
	ErrTypeScopeMismatch  = "scopeMismatch"
	ErrTypeReadOnlyKey    = "readOnlyApiKey"
	ErrTypeTokenNotFound  = "tokenNotFound"
	ErrTypeNotFound       = "notFound"
	// ErrTypeMethodNotAllowed: the path is an endpoint, but not for this HTTP method
	// (answered 405 with an Allow header listing the methods it takes).
	ErrTypeMethodNotAllowed   = "methodNotAllowed"
	ErrTypeUnknownBrokerType  = "unknownBrokerType"
	ErrTypeReauthRequired     = "reauthenticationRequired"
	ErrTypeProviderFailure    = "integrationUnavailable"
	ErrTypeProviderRejected   = "integrationRejected"
	ErrTypeRateLimited        = "rateLimited"
	ErrTypeConflict           = "conflict"
	ErrTypeLinkTokenInvalid   = "linkTokenInvalid"
	ErrTypeInternal           = "internalError"
	ErrTypeInsufficientFunds  = "insufficientFunds"
	ErrTypeTransferNotAllowed = "transferNotAllowed"
	// ErrTypeMFARequired: the exchange asks the user for a second-factor code; repeat
	// the request with it (Mesh's mfaCode). ErrTypeMFAFailed: the code was refused.
	ErrTypeMFARequired = "mfaRequired"
	ErrTypeMFAFailed   = "mfaFailed"
	// ErrTypeNotSupported: the integration offers no way to do this.
	ErrTypeNotSupported = "notSupported"
	// ErrTypeUnavailable: linkvault's own database did not answer (an outage, a restart,
	// a timeout). Nothing was changed that the caller cannot see; retry after
	// Retry-After. Answered as 503 serverFailure.
	ErrTypeUnavailable = "serviceUnavailable"
	// ErrTypeCredentialIntegrity: the connection's stored credential does not open for
	// its row (a field was altered in the database); it was not used. Answered as 500
	// serverFailure; the app's remedy is to connect the account again.
	ErrTypeCredentialIntegrity = "credentialIntegrityFailure"
)

// Error is the application error. Message is safe to show to the API caller: it never
// contains secrets or text copied from an upstream provider.
type Error struct {
	Status     string        // one of the Status* constants
	Type       string        // one of the ErrType* constants
	Message    string        // for the developer calling the API
	Display    string        // optional, for an end user
	RetryAfter time.Duration // for StatusTooManyRequests
	Err        error         // wrapped cause, for logs only; never rendered to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s/%s: %s: %v", e.Status, e.Type, e.Message, e.Err)
	}
	return fmt.Sprintf("%s/%s: %s", e.Status, e.Type, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(status, errType, format string, args ...any) *Error {
	return &Error{Status: status, Type: errType, Message: fmt.Sprintf(format, args...)}
}

// ErrorStatus returns the envelope status of err; errors that are not *Error are serverFailure.
func ErrorStatus(err error) string {
	return errorField(err, StatusOK, StatusServerFailure, func(e *Error) string { return e.Status })
}

// ErrorType returns the errorType of err; errors that are not *Error are internalError.
func ErrorType(err error) string {
	return errorField(err, "", ErrTypeInternal, func(e *Error) string { return e.Type })
}

// ErrorMessage returns the client-safe message of err. Errors that are not *Error never
// expose their text.
func ErrorMessage(err error) string {
	return errorField(err, "", "Internal error.", func(e *Error) string { return e.Message })
}

// errorField reads one field of the *Error in err's chain: none for a nil err, other
// for an error that is not an *Error.
func errorField(err error, none, other string, field func(*Error) string) string {
	if err == nil {
		return none
	}
	var e *Error
	if errors.As(err, &e) {
		return field(e)
	}
	return other
}

// Sentinel-like constructors for the common cases, so every layer words them the same.

// ErrTokenNotFound is the one answer for a tokenId that does not exist, was removed, or
// belongs to another client. It must stay byte-identical in all three cases.
func ErrTokenNotFound() *Error {
	return &Error{Status: StatusNotFound, Type: ErrTypeTokenNotFound, Message: "Token not found."}
}

// ErrNotFound reports that a record of the given kind does not exist.
func ErrNotFound(kind string) *Error {
	return &Error{Status: StatusNotFound, Type: ErrTypeNotFound, Message: kind + " not found."}
}

// ErrConflict reports a concurrent modification or a uniqueness violation.
func ErrConflict(msg string) *Error {
	return &Error{Status: StatusConflict, Type: ErrTypeConflict, Message: msg}
}

// ErrInvalid reports a bad request.
func ErrInvalid(format string, args ...any) *Error {
	return Errorf(StatusBadRequest, ErrTypeInvalidRequest, format, args...)
}

// IsNotFound reports whether err is a notFound error.
func IsNotFound(err error) bool { return ErrorStatus(err) == StatusNotFound }

// IsConflict reports whether err is a conflict error.
func IsConflict(err error) bool { return ErrorStatus(err) == StatusConflict }

// ErrReauthRequired tells the app that the provider refused the connection's credential
// and the user must authenticate again through Link; the tokenId stays the same.
func ErrReauthRequired() *Error {
	return &Error{Status: StatusLocked, Type: ErrTypeReauthRequired,
		Message: "The connection needs the user to re-authenticate: open Link with this tokenId in accessTokens; the tokenId stays the same.",
		Display: "Please reconnect your account."}
}

// ErrScopeMismatch is the answer to a write call made with a read-scoped tokenId.
func ErrScopeMismatch() *Error {
	return &Error{Status: StatusPermissionDenied, Type: ErrTypeScopeMismatch,
		Message: "This tokenId was created with read permission; write operations need a tokenId connected under a write API key."}
}

// ErrProviderUnavailable reports a transient provider failure that outlasted the retries.
func ErrProviderUnavailable(retryAfter time.Duration) *Error {
	return &Error{Status: StatusServerFailure, Type: ErrTypeProviderFailure, RetryAfter: retryAfter,
		Message: "The integration is temporarily unavailable; retry later.", Display: "The exchange is not responding. Please try again shortly."}
}

// ErrMFARequired tells the caller the exchange wants a second-factor code for this
// operation (nothing was executed); failed reports that the code given was refused.
func ErrMFARequired(failed bool) *Error {
	if failed {
		return &Error{Status: StatusBadRequest, Type: ErrTypeMFAFailed,
			Message: "The exchange refused the verification code; ask the user for a new one and repeat the request with it.",
			Display: "That code was not accepted. Please enter the latest code."}
	}
	return &Error{Status: StatusBadRequest, Type: ErrTypeMFARequired,
		Message: "The exchange asks the user for a verification code; repeat the request with it (mfaCode).",
		Display: "Enter the verification code from your exchange."}
}

// UnavailableRetryAfter is the Retry-After of ErrUnavailable: about as long as a
// PostgreSQL restart or a failover takes.
const UnavailableRetryAfter = 5 * time.Second

// ErrUnavailable reports that the database could not be reached or did not answer in
// time. The stores classify their drivers' errors into it (connection refused or cut,
// server shutting down, timeouts), so every layer above answers an outage the same
// way: a retryable 503 serverFailure with Retry-After, never an internalError.
func ErrUnavailable(cause error) *Error {
	return &Error{Status: StatusServerFailure, Type: ErrTypeUnavailable, RetryAfter: UnavailableRetryAfter,
		Message: "The service is temporarily unavailable; retry later.",
		Display: "The service is temporarily unavailable. Please try again shortly.", Err: cause}
}

// IsUnavailable reports whether err is ErrUnavailable: the database did not answer.
func IsUnavailable(err error) bool { return ErrorType(err) == ErrTypeUnavailable }

// ErrNotSupported reports an operation the integration offers no way to do.
func ErrNotSupported(what string) *Error {
	return &Error{Status: StatusBadRequest, Type: ErrTypeNotSupported, Message: what + " is not supported by this integration."}
}
