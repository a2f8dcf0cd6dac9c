package webhook

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
)

// The example of the Standard Webhooks specification: a receiver written against the
// spec must accept what Sign produces.
func TestSignKnownAnswer(t *testing.T) {
	secret := linkvault.NewSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	got, err := Sign([]linkvault.Secret{secret}, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestSignNeedsASecret(t *testing.T) {
	if _, err := Sign(nil, "evt", time.Now(), nil); err == nil {
		t.Fatal("Sign without a secret succeeded")
	}
	if _, err := Sign([]linkvault.Secret{linkvault.NewSecret("whsec_!!!")}, "evt", time.Now(), nil); err == nil {
		t.Fatal("Sign with a malformed secret succeeded")
	}
}

func TestNewSecretFormat(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a.Equal(b) {
		t.Fatal("two secrets are equal")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a.Reveal(), SecretPrefix))
	if !strings.HasPrefix(a.Reveal(), SecretPrefix) || err != nil || len(key) != 32 {
		t.Fatalf("secret is not whsec_ + base64 of 32 bytes (%d bytes, %v)", len(key), err)
	}
}

func TestBody(t *testing.T) {
	at := time.Date(2030, 3, 17, 17, 46, 40, 123000000, time.FixedZone("x", 3600))
	b, err := Body(linkvault.Event{ID: "evt_1", Type: linkvault.EventReauthRequired, CreatedAt: at, Data: json.RawMessage(`{"tokenId":"t1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"connection.reauth_required","timestamp":"2030-03-17T16:46:40.123Z","data":{"tokenId":"t1"}}`; string(b) != want {
		t.Fatalf("Body = %s, want %s", b, want)
	}
	if b, _ := Body(linkvault.Event{Type: "x", CreatedAt: at}); !strings.Contains(string(b), `"data":{}`) {
		t.Fatalf("empty data = %s, want {}", b)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   bool
	}{
		{0, "timeout", true}, {0, "network", true}, {0, "no_signing_secret", true},
		{0, "invalid_url", false}, {408, "http_408", true}, {429, "http_429", true},
		{500, "http_500", true}, {503, "http_503", true}, {400, "http_400", false},
		{401, "http_401", false}, {404, "http_404", false}, {410, "http_410", false}, {302, "http_302", false},
	}
	for _, tt := range tests {
		if got := retryable(tt.status, tt.code); got != tt.want {
			t.Errorf("retryable(%d, %s) = %v, want %v", tt.status, tt.code, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"120", 120 * time.Second}, {"999999999", 24 * time.Hour}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second}, {now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.v, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestValidateURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://app.example/hooks", true},
		{"https://app.example:8443/hooks?x=1", true},
		{"http://127.0.0.1:9000/hooks", true},
		{"http://localhost/hooks", true},
		{"http://[::1]:8080/", true},
		{"http://app.example/hooks", false},
		{"ftp://app.example/", false},
		{"https://user:pw@app.example/", false},
		{"https://app.example/#frag", false},
		{"/relative", false},
		{"https://", false},
		{"mailto:x@example.com", false},
	}
	for _, tt := range tests {
		if err := ValidateURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("ValidateURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).withDefaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := Config{Timeout: time.Minute, QueueConfig: poller.QueueConfig{LeaseDuration: time.Minute}}.withDefaults()
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "lease duration") {
		t.Fatalf("lease not longer than the timeout accepted: %v", err)
	}
}
