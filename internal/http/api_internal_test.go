package http

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
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
		// The database did not answer: retryable, not a bug.
		{linkvault.ErrUnavailable(nil), 503},
		{fmt.Errorf("resolve: %w", linkvault.ErrUnavailable(errors.New("connection refused"))), 503},
		{errors.New("a bug"), 500},
	}
	for _, tt := range tests {
		if got := StatusCode(tt.err); got != tt.want {
			t.Errorf("%v: status %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestUnavailableAnswersRetryAfter: an outage is answered 503 serverFailure with a
// Retry-After header and errorData.retryAfterSeconds (issue 13, defect 6).
func TestUnavailableAnswersRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	writeErrorEnvelope(w, fmt.Errorf("wrapped: %w", linkvault.ErrUnavailable(errors.New("dial tcp: connection refused"))))
	if w.Code != 503 || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("code %d, Retry-After %q; want 503, 5", w.Code, w.Header().Get("Retry-After"))
	}
	body := w.Body.String()
	for _, want := range []string{`"status":"serverFailure"`, `"errorType":"serviceUnavailable"`, `"retryAfterSeconds":5`} {
		if !strings.Contains(body, want) {
			t.Errorf("body %s lacks %s", body, want)
		}
	}
	if strings.Contains(body, "connection refused") {
		t.Errorf("body %s shows the cause", body)
	}
}
