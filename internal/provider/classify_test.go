package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/linkvault/linkvault"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true},
		{"Sun Mar  1 12:00:10 2026", 10 * time.Second, true},
		{"Mon, 02 Jan 2006 15:04:05 GMT", 0, true}, // in the past
		{"999999999", maxRetryAfter, true},
		{"Sat, 01 Mar 2036 12:00:00 GMT", maxRetryAfter, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		status   int
		code     string
		retry    string
		kind     linkvault.ProviderErrorKind
		wantCode string
		wantWait time.Duration
	}{
		{400, "invalid_grant", "", linkvault.ProviderReauth, "invalid_grant", 0},
		{401, "", "", linkvault.ProviderReauth, "http_401", 0},
		{401, "expired_token", "", linkvault.ProviderReauth, "expired_token", 0},
		{401, "invalid_api_key", "", linkvault.ProviderReauth, "invalid_api_key", 0},
		{401, "invalid_client", "", linkvault.ProviderRejected, "invalid_client", 0},
		{400, "insufficient_funds", "", linkvault.ProviderRejected, "insufficient_funds", 0},
		{403, "", "", linkvault.ProviderRejected, "http_403", 0},
		{404, "not_found", "", linkvault.ProviderRejected, "not_found", 0},
		{408, "", "", linkvault.ProviderTransient, "http_408", 0},
		{429, "", "30", linkvault.ProviderTransient, "http_429", 30 * time.Second},
		{429, "rate_limit_exceeded", "Sun, 01 Mar 2026 12:02:00 GMT", linkvault.ProviderTransient, "rate_limit_exceeded", 2 * time.Minute},
		{429, "", "", linkvault.ProviderTransient, "http_429", 0},
		{500, "", "", linkvault.ProviderTransient, "http_500", 0},
		{503, "invalid_grant", "", linkvault.ProviderTransient, "invalid_grant", 0}, // a 5xx is never permanent
		{302, "", "", linkvault.ProviderTransient, "unexpected_status", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%s", tt.status, tt.code), func(t *testing.T) {
			h := http.Header{}
			if tt.retry != "" {
				h.Set("Retry-After", tt.retry)
			}
			pe := classifyStatus(linkvault.BrokerCoinbase, "op", tt.status, h, tt.code, now)
			if pe.Kind != tt.kind || pe.Code != tt.wantCode || pe.RetryAfter != tt.wantWait || pe.StatusCode != tt.status {
				t.Fatalf("got %v (wait %v), want %s %s wait %v", pe, pe.RetryAfter, tt.kind, tt.wantCode, tt.wantWait)
			}
		})
	}
}

func TestSanitizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"invalid_grant": "invalid_grant", " Expired_Token ": "expired_token",
		"CANARY secret": "", "<script>": "", "": "",
	} {
		if got := sanitizeCode(in); got != want {
			t.Errorf("sanitizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassifyTransport(t *testing.T) {
	tests := []struct {
		err  error
		code string
	}{
		{context.Canceled, "canceled"},
		{context.DeadlineExceeded, "timeout"},
		{&url.Error{Op: "Post", URL: "http://x", Err: syscall.ECONNREFUSED}, "connection_refused"},
		{&url.Error{Op: "Post", URL: "http://x", Err: syscall.ECONNRESET}, "connection_reset"},
		{errors.New("something else"), "network_error"},
	}
	for _, tt := range tests {
		pe := classifyTransport(linkvault.BrokerUphold, "op", tt.err)
		if pe.Kind != linkvault.ProviderTransient || pe.Code != tt.code {
			t.Errorf("classifyTransport(%v) = %v, want transient %s", tt.err, pe, tt.code)
		}
	}
}

func TestClassifyOAuthNeverKeepsTheBody(t *testing.T) {
	const canary = "CANARY-token-body-5521"
	now := time.Now()
	tests := []struct {
		name string
		err  error
		kind linkvault.ProviderErrorKind
		code string
	}{
		{"invalid_grant", &oauth2.RetrieveError{
			Response: &http.Response{StatusCode: 400}, Body: []byte(canary), ErrorCode: "invalid_grant", ErrorDescription: canary,
		}, linkvault.ProviderReauth, "invalid_grant"},
		{"unknown code in 400", &oauth2.RetrieveError{
			Response: &http.Response{StatusCode: 400}, Body: []byte(canary), ErrorCode: canary,
		}, linkvault.ProviderRejected, "http_400"},
		{"error inside a 200", &oauth2.RetrieveError{
			Response: &http.Response{StatusCode: 200}, Body: []byte(canary), ErrorCode: "invalid_grant",
		}, linkvault.ProviderReauth, "invalid_grant"},
		{"503 with html body", &oauth2.RetrieveError{
			Response: &http.Response{StatusCode: 503}, Body: []byte("<html>" + canary),
		}, linkvault.ProviderTransient, "http_503"},
		{"429", &oauth2.RetrieveError{
			Response: &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"4"}}}, Body: []byte(canary),
		}, linkvault.ProviderTransient, "http_429"},
		{"unparseable success", fmt.Errorf("oauth2: cannot parse json: %s", canary), linkvault.ProviderTransient, "invalid_response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := classifyOAuth(linkvault.BrokerCoinbase, "refresh", tt.err, now)
			if pe.Kind != tt.kind || pe.Code != tt.code {
				t.Fatalf("got %v, want %s %s", pe, tt.kind, tt.code)
			}
			assertNoLeak(t, pe, canary)
		})
	}
}
