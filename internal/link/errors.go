package link

import "github.com/linkvault/linkvault"

// Error types of the Link page's JSON answers, beyond the shared linkvault.ErrType*
// codes. The page branches on them to show a translated message.
const (
	ErrTypeInvalidAPIKey        = "invalidApiKey"
	ErrTypeAPIKeyCannotRead     = "apiKeyCannotRead"
	ErrTypeAPIKeyCannotWithdraw = "apiKeyCannotWithdraw"
	ErrTypeAPIKeyCanWithdraw    = "apiKeyCanWithdraw"
	ErrTypeAPIKeyTooPowerful    = "apiKeyTooPowerful"
	ErrTypeAccessDenied         = "accessDenied"
	ErrTypeStateInvalid         = "oauthStateInvalid"
)

// ErrSessionInvalid is the one answer for a Link URL or page secret that does not
// exist, expired or was already used.
func ErrSessionInvalid() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusUnauthorized, Type: linkvault.ErrTypeLinkTokenInvalid,
		Message: "This Link session has expired or was already used; request a new linkToken.",
		Display: "This link has expired or was already used."}
}

// ErrInvalidAPIKey: the exchange did not accept the key and secret (unknown, deleted,
// mistyped, or restricted to other IP addresses).
func ErrInvalidAPIKey() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: ErrTypeInvalidAPIKey,
		Message: "The exchange did not accept this API key and secret.",
		Display: "The exchange did not accept this API key. Check the key and the secret, and that the key allows this service's IP addresses."}
}

// errAPIKeyPermissions words a key whose permissions do not fit the connection (nil
// for a code that is not about permissions).
func errAPIKeyPermissions(code string) *linkvault.Error {
	e := func(typ, msg, display string) *linkvault.Error {
		return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: typ, Message: msg, Display: display}
	}
	switch code {
	case "invalid_api_key_format":
		return ErrInvalidAPIKey()
	case "key_cannot_read":
		return e(ErrTypeAPIKeyCannotRead, "The API key does not allow reading.", "Turn on “Enable Reading” for this key.")
	case "key_cannot_withdraw":
		return e(ErrTypeAPIKeyCannotWithdraw, "This connection moves funds, and the API key does not allow withdrawals.",
			"This app sends transfers: turn on “Enable Withdrawals” for the key (it needs an IP restriction).")
	case "key_can_withdraw":
		return e(ErrTypeAPIKeyCanWithdraw, "This connection only reads, and the API key allows withdrawals; a key with less power is required.",
			"This app only reads your account: create a key without “Enable Withdrawals”.")
	case "key_too_powerful":
		return e(ErrTypeAPIKeyTooPowerful, "The API key allows trading or internal transfers, which linkvault never uses; a key with less power is required.",
			"Create a key with trading and transfer permissions turned off.")
	}
	return nil
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

// errUnknownConnection is the single answer for a tokenId this session may not use:
// never existed, removed, another client's, another user's, another scope's.
func errUnknownConnection() *linkvault.Error {
	return linkvault.ErrTokenNotFound()
}

// errUnsupported: the integration is not configured or uses another sign-in kind.
func errUnsupported() *linkvault.Error {
	return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeUnknownBrokerType, "This integration is not available here.")
}
