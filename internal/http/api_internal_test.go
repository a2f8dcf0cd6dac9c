package http

import (
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// TestAccountErrorsHaveOneStatus: the errors the account service returns map to one
// HTTP status each through the envelope table (the audit log records the same code).
func TestAccountErrorsHaveOneStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{linkvault.ErrTokenNotFound(), 404},
		{linkvault.ErrScopeMismatch(), 403},
		{account.ErrReadOnlyKey(), 403},
		{linkvault.ErrReauthRequired(), 423},
		{linkvault.ErrProviderUnavailable(0), 502},
		{account.MapProviderError(&linkvault.ProviderError{Kind: linkvault.ProviderRejected, Code: "invalid_address"}), 422},
		{account.MapProviderError(&linkvault.ProviderError{Kind: linkvault.ProviderRejected, Code: "insufficient_funds"}), 400},
		{account.MapProviderError(&linkvault.ProviderError{Kind: linkvault.ProviderRejected, Code: "forbidden"}), 403},
		{linkvault.ErrConflict("x"), 409},
	}
	for _, tt := range tests {
		if got := StatusCode(tt.err); got != tt.want {
			t.Errorf("%v: status %d, want %d", tt.err, got, tt.want)
		}
	}
}
