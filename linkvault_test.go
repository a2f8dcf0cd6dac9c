package linkvault

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSecretNeverPrints(t *testing.T) {
	const value = "super-secret-value"
	s := NewSecret(value)
	c := Credential{AccessToken: s, RefreshToken: s}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "secret", s, "credential", c)
	j, _ := json.Marshal(c)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c), "%s": fmt.Sprintf("%s", s),
		"%d": fmt.Sprintf("%d", s), "%x": fmt.Sprintf("%x", s), "%q": fmt.Sprintf("%q", s), "json": string(j), "slog": logged.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s reveals the secret: %s", name, out)
		}
	}
	if !s.Equal(NewSecret(value)) || s.Equal(NewSecret(value+"x")) || s.Reveal() != value {
		t.Fatal("Equal/Reveal broken")
	}
}

func TestPermissionAllows(t *testing.T) {
	tests := []struct {
		have, need Permission
		want       bool
	}{
		{PermissionRead, PermissionRead, true},
		{PermissionRead, PermissionWrite, false},
		{PermissionWrite, PermissionRead, true},
		{PermissionWrite, PermissionWrite, true},
		{"", PermissionRead, false},
	}
	for _, tt := range tests {
		if got := tt.have.Allows(tt.need); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestValidateUserID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"", false},
		{"a", true},
		{strings.Repeat("x", 300), true},
		{strings.Repeat("x", 301), false},
		{strings.Repeat("é", 300), true}, // characters, not bytes
		{strings.Repeat("😀", 300), true},
		{"user@example.com", true},
		{"a b", true},
		{" a ", true},
		{" ", false},
		{"   ", false},
		{"\u00a0\u2003", false},   // no-break and em spaces: blank too
		{"a\x00b", false},         // NUL: PostgreSQL cannot store it
		{"a\tb", false},           // control characters make no sense in an identifier
		{"a\u0085b", false},       // C1 control (NEL)
		{"a\x7fb", false},         // DEL
		{"a\xffb", false},         // invalid UTF-8 would be repaired to U+FFFD by a JSON round trip
		{"a\xc0\xafb", false},     // overlong encoding of '/'
		{"a\xed\xa0\x80b", false}, // UTF-8-encoded surrogate U+D800
		{"a\ufffdb", true},        // a real U+FFFD is just a character
	}
	for _, tt := range tests {
		if err := ValidateUserID(tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidateUserID(len %d) = %v, want ok=%v", len(tt.id), err, tt.ok)
		}
	}
}

func TestParseBrokerType(t *testing.T) {
	for _, b := range []string{"coinbase", "binanceInternationalDirect", "uphold", "sandbox"} {
		if _, err := ParseBrokerType(b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	for _, b := range []string{"", "Coinbase", "binance", "kraken"} {
		if _, err := ParseBrokerType(b); ErrorType(err) != ErrTypeUnknownBrokerType {
			t.Errorf("%q accepted or wrong error: %v", b, err)
		}
	}
}

func TestCredentialExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		expiry time.Time
		skew   time.Duration
		want   bool
	}{
		{time.Time{}, time.Minute, false},
		{now.Add(time.Hour), time.Minute, false},
		{now.Add(30 * time.Second), time.Minute, true},
		{now, 0, true},
		{now.Add(-time.Second), 0, true},
	}
	for _, tt := range tests {
		if got := (Credential{Expiry: tt.expiry}).Expired(now, tt.skew); got != tt.want {
			t.Errorf("expiry %v skew %v: Expired = %v, want %v", tt.expiry, tt.skew, got, tt.want)
		}
	}
}

func TestEventWithDefaults(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	filled := Event{}.WithDefaults("c1", "tok", now)
	if filled.ID == "" || filled.ClientID != "c1" || filled.TokenID != "tok" || !filled.CreatedAt.Equal(now) || string(filled.Data) != "{}" {
		t.Fatalf("empty event filled as %+v", filled)
	}
	set := Event{ID: "e", ClientID: "c2", TokenID: "t2", Data: []byte(`{"a":1}`), CreatedAt: now.Add(time.Hour)}
	if got := set.WithDefaults("c1", "tok", now); got.ID != "e" || got.ClientID != "c2" || got.TokenID != "t2" || string(got.Data) != `{"a":1}` || !got.CreatedAt.Equal(set.CreatedAt) {
		t.Fatalf("set fields overwritten: %+v", got)
	}
}
