package http

import (
	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// Lifecycle keeps resolved credentials usable (account.Lifecycle; implemented by the
// refresh engine).
type Lifecycle = account.Lifecycle

// errAccountUnavailable answers the account endpoints of a server built without the
// account service (Deps.Account nil).
func errAccountUnavailable() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal,
		Message: "The managed-account API is not configured on this server."}
}
