package meshspec_test

import (
	"testing"

	"github.com/linkvault/linkvault/internal/meshspec"
)

// TestDocumentLoads: the extracted document is valid OpenAPI, names its source, and has
// the 45 operations of Mesh's spec.
func TestDocumentLoads(t *testing.T) {
	s, err := meshspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	if src := s.Source(); src["commit"] != "e7c178a9f4cab0e1fc028b0511deb4ff114776b9" || src["repository"] != "FrontFin/mesh-web-sdk" {
		t.Fatalf("source %v", src)
	}
	if n := len(s.Operations()); n != 45 {
		t.Fatalf("%d operations, want 45", n)
	}
	if o, ok := s.Find("POST", "/api/v1/transactions/buy"); !ok || o.Path != "/api/v1/transactions/{side}" {
		t.Fatalf("templated path: %v %v", o, ok)
	}
	if o, ok := s.Find("POST", "/api/v1/transactions/list"); !ok || o.Path != "/api/v1/transactions/list" {
		t.Fatalf("literal path must win over the template: %v", o)
	}
}

// TestValidatorRejectsWhatTheSpecForbids: the validator is not a rubber stamp.
func TestValidatorRejectsWhatTheSpecForbids(t *testing.T) {
	s, err := meshspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		body   string
		ok     bool
	}{
		{"networks ok", "GET", "/api/v1/transfers/managed/networks", 200,
			`{"status":"ok","message":"","displayMessage":null,"errorType":"","content":{"networks":[{"id":"e3c7fdd8-b1fc-4e51-85ae-bb276e075611","name":"Ethereum","chainId":"1","networkType":"evm","supportedTokens":["ETH"],"tokens":[],"supportedBrokerTypes":["coinbase"]}]}}`, true},
		{"extra property in a closed schema", "GET", "/api/v1/transfers/managed/networks", 200,
			`{"status":"ok","content":{"networks":[{"id":"e3c7fdd8-b1fc-4e51-85ae-bb276e075611","code":"ethereum"}]}}`, false},
		{"id that is not a UUID", "GET", "/api/v1/transfers/managed/networks", 200,
			`{"status":"ok","content":{"networks":[{"id":"ethereum"}]}}`, false},
		{"unknown enum value", "GET", "/api/v1/transfers/managed/networks", 200,
			`{"status":"ok","content":{"networks":[{"id":"e3c7fdd8-b1fc-4e51-85ae-bb276e075611","networkType":"bitcoinish"}]}}`, false},
		{"unknown envelope status", "GET", "/api/v1/status", 200, `{"status":"fine","content":[]}`, false},
		{"error envelope", "POST", "/api/v1/holdings/get", 404, `{"status":"notFound","message":"Token not found.","displayMessage":null,"errorType":"tokenNotFound"}`, true},
		{"error envelope with content", "POST", "/api/v1/holdings/get", 404, `{"status":"notFound","message":"x","content":null}`, false},
		{"423 is held to ApiResult", "POST", "/api/v1/balance/get", 423, `{"status":"locked","message":"x","errorType":"reauthenticationRequired","errorData":{"retryAfterSeconds":2}}`, true},
		{"wrong type", "POST", "/api/v1/balance/get", 200, `{"status":"ok","content":{"balances":[{"cash":"12"}]}}`, false},
		{"uphold (linkvault's documented extension)", "POST", "/api/v1/holdings/get", 200, `{"status":"ok","content":{"type":"uphold"}}`, true},
		{"other broker types stay refused", "POST", "/api/v1/holdings/get", 200, `{"status":"ok","content":{"type":"upholdx"}}`, false},
	}
	for _, tt := range tests {
		_, err := s.ValidateResponse(tt.method, tt.path, tt.status, []byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
