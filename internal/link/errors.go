package link

import "github.com/linkvault/linkvault"

// Error types of the Link page's JSON answers, beyond the shared linkvault.ErrType*
// codes. The page branches on them to show a translated message.
const (
	ErrTypeInvalidCredentials = "invalidCredentials"
	ErrTypeInvalidMFACode     = "invalidMfaCode"
	ErrTypeMFAExpired         = "mfaExpired"
	ErrTypeAccessDenied       = "accessDenied"
	ErrTypeStateInvalid       = "oauthStateInvalid"
	ErrTypeNoPendingStep      = "noPendingStep"
)

// ErrSessionInvalid is the one answer for a Link URL or page secret that does not
// exist, expired or was already used.
func ErrSessionInvalid() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusUnauthorized, Type: linkvault.ErrTypeLinkTokenInvalid,
		Message: "This Link session has expired or was already used; request a new linkToken.",
		Display: "This link has expired or was already used."}
}

// ErrInvalidCredentials: the provider refused username or password.
func ErrInvalidCredentials() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: ErrTypeInvalidCredentials,
		Message: "The exchange refused the username or password.", Display: "Wrong username or password."}
}

// ErrInvalidMFACode: the provider refused the MFA code; the user may type it again.
func ErrInvalidMFACode() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: ErrTypeInvalidMFACode,
		Message: "The exchange refused the verification code; try again.", Display: "Wrong code. Please try again."}
}

// ErrMFAExpired: the MFA challenge is gone (expired or too many attempts).
func ErrMFAExpired() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: ErrTypeMFAExpired,
		Message: "The verification step expired; sign in again.", Display: "The verification step expired. Please sign in again."}
}

// ErrAccessDenied: the user declined consent at the provider.
func ErrAccessDenied() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusPermissionDenied, Type: ErrTypeAccessDenied,
		Message: "The user declined access at the exchange.", Display: "Access was not granted."}
}

// ErrStateInvalid: an OAuth callback whose state is unknown, used, or expired.
func ErrStateInvalid() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: ErrTypeStateInvalid,
		Message: "The authorization response does not match a pending Link session.",
		Display: "This sign-in attempt has expired. Please start again."}
}

// ErrNoPendingStep: an MFA code arrived while no login waits for one.
func ErrNoPendingStep() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: ErrTypeNoPendingStep,
		Message: "No sign-in is waiting for this step; start again."}
}

// errUnknownConnection is the single answer for a tokenId this session may not use:
// never existed, removed, another client's, another user's, another scope's.
func errUnknownConnection() *linkvault.Error {
	return linkvault.ErrTokenNotFound()
}

// errUnsupported: the integration is not configured or uses another sign-in kind.
func errUnsupported() *linkvault.Error {
	return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeUnknownBrokerType, "This integration is not available here.")
}
