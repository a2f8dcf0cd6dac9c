package apispec_test

import (
	"testing"

	"github.com/linkvault/linkvault/internal/apispec"
)

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	s, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Operations()); n < 60 {
		t.Fatalf("%d operations", n)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
		ok           bool
	}{
		{"GET", "/api/v1/integrations", 401, `{"status":"permissionDenied","message":"x","displayMessage":null,"errorType":"invalidCredentials"}`, true},
		{"GET", "/api/v1/integrations", 401, `{"status":"permissionDenied","message":"x","errorType":"y","extra":1}`, false},
		{"GET", "/api/v1/nowhere", 404, `{}`, false},
		{"GET", "/healthz", 200, `{"status":"ok","message":"","displayMessage":null,"errorType":"","content":{"state":"alive"}}`, true},
		{"GET", "/healthz", 418, `{}`, false},
		{"POST", "/api/v1/transactions/buy", 404, `{"status":"notFound","message":"x","displayMessage":null,"errorType":"notImplemented"}`, true},
	} {
		err := s.ValidateResponse(tc.method, tc.path, tc.status, "application/json", []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s %d %s: %v, want ok=%v", tc.method, tc.path, tc.status, tc.body, err, tc.ok)
		}
	}
}
