package lvclient_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// The Standard Webhooks test vector shared by the specification's reference libraries:
// standard-webhooks/standard-webhooks libraries/go/webhook_test.go (TestWebhookSign,
// commit 449485caf9c0303530c19524fbe4096680aafcf1) and
// libraries/javascript/src/webhook.test.ts ("sign function works", commit
// 10d3e46d720c4e5861a792bec25792a04ad4e2b3).
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// A well-formed signature that matches nothing, used by the same tests.
	specWrongSignature = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

func specHeader(id, ts, sig string) http.Header {
	h := http.Header{}
	for k, v := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
		if v != "" {
			h.Set(k, v)
		}
	}
	return h
}

func verifierAt(t *testing.T, at time.Time, secrets ...string) *lvclient.WebhookVerifier {
	t.Helper()
	v, err := lvclient.NewWebhookVerifier(secrets, lvclient.WithWebhookClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestWebhookSpecVectors runs the reference libraries' cases against the published
// vector, with the verifier's clock at the vector's timestamp (plus an offset).
func TestWebhookSpecVectors(t *testing.T) {
	ts := strconv.Itoa(specTimestamp)
	signedAt := time.Unix(specTimestamp, 0)
	tol := lvclient.DefaultWebhookTolerance
	tests := []struct {
		name    string
		secret  string
		now     time.Time
		header  http.Header
		body    string
		wantErr error
	}{
		{"valid", specSecret, signedAt, specHeader(specMsgID, ts, specSignature), specPayload, nil},
		{"valid without the whsec_ prefix", strings.TrimPrefix(specSecret, "whsec_"), signedAt, specHeader(specMsgID, ts, specSignature), specPayload, nil},
		{"valid at the edge of the tolerance", specSecret, signedAt.Add(tol), specHeader(specMsgID, ts, specSignature), specPayload, nil},
		{"valid multi signature", specSecret, signedAt,
			specHeader(specMsgID, ts, strings.Join([]string{specWrongSignature, "v2," + specWrongSignature[3:], specSignature, specWrongSignature}, " ")), specPayload, nil},
		{"missing id", specSecret, signedAt, specHeader("", ts, specSignature), specPayload, lvclient.ErrWebhookHeaders},
		{"missing timestamp", specSecret, signedAt, specHeader(specMsgID, "", specSignature), specPayload, lvclient.ErrWebhookHeaders},
		{"missing signature", specSecret, signedAt, specHeader(specMsgID, ts, ""), specPayload, lvclient.ErrWebhookHeaders},
		{"timestamp not a number", specSecret, signedAt, specHeader(specMsgID, "hello", specSignature), specPayload, lvclient.ErrWebhookTimestamp},
		{"old timestamp", specSecret, signedAt.Add(tol + time.Second), specHeader(specMsgID, ts, specSignature), specPayload, lvclient.ErrWebhookTimestamp},
		{"new timestamp", specSecret, signedAt.Add(-tol - time.Second), specHeader(specMsgID, ts, specSignature), specPayload, lvclient.ErrWebhookTimestamp},
		{"wrong signature", specSecret, signedAt, specHeader(specMsgID, ts, specWrongSignature), specPayload, lvclient.ErrWebhookSignature},
		{"signature not base64", specSecret, signedAt, specHeader(specMsgID, ts, "v1,dawfeoifkpqwoekfpqoekf"), specPayload, lvclient.ErrWebhookSignature},
		{"partial signature", specSecret, signedAt, specHeader(specMsgID, ts, specSignature[:8]), specPayload, lvclient.ErrWebhookSignature},
		{"empty v1 entry", specSecret, signedAt, specHeader(specMsgID, ts, "v1,"), specPayload, lvclient.ErrWebhookSignature},
		{"right signature under another version", specSecret, signedAt, specHeader(specMsgID, ts, "v1a,"+specSignature[3:]), specPayload, lvclient.ErrWebhookSignature},
		{"other secret", "whsec_" + strings.Repeat("A", 32), signedAt, specHeader(specMsgID, ts, specSignature), specPayload, lvclient.ErrWebhookSignature},
		{"body changed by one byte", specSecret, signedAt, specHeader(specMsgID, ts, specSignature), `{"test": 2432232315}`, lvclient.ErrWebhookSignature},
		{"body re-encoded", specSecret, signedAt, specHeader(specMsgID, ts, specSignature), `{"test":2432232314}`, lvclient.ErrWebhookSignature},
		{"id changed", specSecret, signedAt, specHeader(specMsgID+"x", ts, specSignature), specPayload, lvclient.ErrWebhookSignature},
		{"timestamp changed within tolerance", specSecret, signedAt, specHeader(specMsgID, strconv.Itoa(specTimestamp+1), specSignature), specPayload, lvclient.ErrWebhookSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verifierAt(t, tc.now, tc.secret).Verify(tc.header, []byte(tc.body))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestWebhookRotation: a verifier holding the new and the old secret accepts deliveries
// signed with either, as during linkvault's rotation overlap.
func TestWebhookRotation(t *testing.T) {
	signedAt := time.Unix(specTimestamp, 0)
	h := specHeader(specMsgID, strconv.Itoa(specTimestamp), specSignature)
	other := "whsec_" + strings.Repeat("B", 40)
	for _, secrets := range [][]string{{specSecret}, {other, specSecret}, {specSecret, other}} {
		if err := verifierAt(t, signedAt, secrets...).Verify(h, []byte(specPayload)); err != nil {
			t.Fatalf("secrets %d: %v", len(secrets), err)
		}
	}
	if err := verifierAt(t, signedAt, other).Verify(h, []byte(specPayload)); !errors.Is(err, lvclient.ErrWebhookSignature) {
		t.Fatalf("verifier with only another secret: %v", err)
	}
}

func TestWebhookSecretErrors(t *testing.T) {
	tests := []struct {
		name, secret, want string
	}{
		{"empty", "", "is empty"},
		{"prefix only", "whsec_", "is empty"},
		{"not base64", "whsec_not*base64", "standard base64"},
		{"too short", "whsec_" + "c2hvcnQ=", "decodes to 5 bytes"},
		{"too long", "whsec_" + strings.Repeat("A", 88), "decodes to 66 bytes"},
		{"asymmetric secret key", "whsk_" + strings.Repeat("A", 43), "asymmetric"},
		{"asymmetric public key", "whpk_" + strings.Repeat("A", 43), "asymmetric"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lvclient.NewWebhookVerifier([]string{specSecret, tc.secret})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "secret 2") {
				t.Fatalf("err = %v, want one naming secret 2 and %q", err, tc.want)
			}
			if body := strings.TrimPrefix(strings.TrimPrefix(tc.secret, "whsec_"), "whsk_"); len(body) > 4 && strings.Contains(err.Error(), body) {
				t.Fatalf("error quotes the secret: %v", err)
			}
		})
	}
	if _, err := lvclient.NewWebhookVerifier(nil); err == nil {
		t.Fatal("a verifier without secrets was accepted")
	}
}

// TestWebhookVerifierPrintsNoKey: printing a verifier in any way shows no key bytes.
func TestWebhookVerifierPrintsNoKey(t *testing.T) {
	v := verifierAt(t, time.Now(), specSecret)
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(format, v) + fmt.Sprintf(format, *v)
		for _, leak := range []string{"MfKQ9r8G", "31f2", "[49 242", "1\xf2"} {
			if strings.Contains(out, leak) {
				t.Fatalf("%s prints key material: %s", format, out)
			}
		}
	}
}

// TestWebhookHandler: the handler's answers for deliveries linkvault should treat as
// delivered, refused and to be retried, and the event it passes on.
func TestWebhookHandler(t *testing.T) {
	signedAt := time.Unix(specTimestamp, 0)
	body := `{"type":"connection.reauth_required","timestamp":"2031-06-01T12:00:00Z","data":{"brokerType":"coinbase","details":{"reason":"reauthenticationRequired"},"scope":"read","status":"reauth_required","tokenId":"tok_1","userId":"u1"}}`
	sig := sign(t, specSecret, specMsgID, specTimestamp, body)
	var got *lvclient.WebhookEvent
	fail := false
	v, err := lvclient.NewWebhookVerifier([]string{specSecret}, lvclient.WithWebhookClock(func() time.Time { return signedAt }), lvclient.WithWebhookMaxBody(1024))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v.Handler(func(ctx context.Context, e *lvclient.WebhookEvent) error {
		if fail {
			return errors.New("database down")
		}
		got = e
		return nil
	}))
	defer srv.Close()
	post := func(method string, h http.Header, b string) int {
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader(b))
		for k, vs := range h {
			req.Header[k] = vs
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	ts := strconv.Itoa(specTimestamp)
	tests := []struct {
		name   string
		method string
		h      http.Header
		body   string
		fail   bool
		want   int
	}{
		{"delivered", http.MethodPost, specHeader(specMsgID, ts, sig), body, false, http.StatusNoContent},
		{"receiver error is retried", http.MethodPost, specHeader(specMsgID, ts, sig), body, true, http.StatusInternalServerError},
		{"bad signature", http.MethodPost, specHeader(specMsgID, ts, specWrongSignature), body, false, http.StatusUnauthorized},
		{"no headers", http.MethodPost, http.Header{}, body, false, http.StatusUnauthorized},
		{"verified but not JSON", http.MethodPost, specHeader(specMsgID, ts, sign(t, specSecret, specMsgID, specTimestamp, "nope")), "nope", false, http.StatusBadRequest},
		{"too large", http.MethodPost, specHeader(specMsgID, ts, sig), strings.Repeat(" ", 2048), false, http.StatusRequestEntityTooLarge},
		{"GET", http.MethodGet, specHeader(specMsgID, ts, sig), "", false, http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		got, fail = nil, tc.fail
		if code := post(tc.method, tc.h, tc.body); code != tc.want {
			t.Fatalf("%s: status %d, want %d", tc.name, code, tc.want)
		}
		if (got != nil) != (tc.want == http.StatusNoContent) {
			t.Fatalf("%s: handler called = %v", tc.name, got != nil)
		}
	}

	post(http.MethodPost, specHeader(specMsgID, ts, sig), body)
	if got.ID != specMsgID || got.Type != lvclient.EventConnectionReauthRequired || !got.Timestamp.Equal(time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("event = %+v", got)
	}
	c, err := got.Connection()
	if err != nil {
		t.Fatal(err)
	}
	want := lvclient.ConnectionEvent{TokenID: "tok_1", UserID: "u1", BrokerType: lvclient.Coinbase, Scope: "read", Status: "reauth_required",
		Details: map[string]string{"reason": "reauthenticationRequired"}}
	if fmt.Sprint(*c) != fmt.Sprint(want) {
		t.Fatalf("Connection() = %+v, want %+v", *c, want)
	}
}

// sign builds a signature header the way the specification describes, independently of
// the verifier: "v1," + base64(HMAC-SHA256(decoded secret, "id.timestamp.body")).
func sign(t *testing.T, secret, id string, ts int64, body string) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	_, _ = fmt.Fprintf(m, "%s.%d.%s", id, ts, body) // a hash.Hash's Write never fails
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignHelperMatchesSpecVector(t *testing.T) {
	if got := sign(t, specSecret, specMsgID, specTimestamp, specPayload); got != specSignature {
		t.Fatalf("sign = %s, want the published %s", got, specSignature)
	}
}

// TestNoDependencies: the SDK is a module of its own that apps import without pulling
// in the server: its go.mod requires nothing.
func TestNoDependencies(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "require" || f[0] == "replace") {
			t.Fatalf("sdk/go/go.mod has a dependency line: %q; the SDK must stay standard-library only", line)
		}
	}
}
