package lvclient

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook verification, per the Standard Webhooks specification (v1 symmetric
// signatures), which is how linkvault signs every delivery:
//
//	webhook-id:        the event id, the same on every retry: deduplicate on it
//	webhook-timestamp: unix seconds of this delivery attempt
//	webhook-signature: space-separated "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>"
//	                   entries, one per active secret (two during a secret rotation)
//
// Secrets are "whsec_" followed by the base64 of the key, as printed by
// "linkvault webhooks rotate-secret".
//
//	v, err := lvclient.NewWebhookVerifier([]string{os.Getenv("LINKVAULT_WEBHOOK_SECRET")})
//	http.Handle("/hooks/linkvault", v.Handler(func(ctx context.Context, e *lvclient.WebhookEvent) error {
//		if seen(e.ID) { return nil } // deliveries are at least once
//		c, err := e.Connection()
//		...
//	}))

// Webhook header names.
const (
	WebhookIDHeader        = "webhook-id"
	WebhookTimestampHeader = "webhook-timestamp"
	WebhookSignatureHeader = "webhook-signature"
)

// WebhookSecretPrefix starts every linkvault webhook secret.
const WebhookSecretPrefix = "whsec_"

// DefaultWebhookTolerance is how far a delivery's timestamp may be from the receiver's
// clock, either way (the specification's recommended 5 minutes).
const DefaultWebhookTolerance = 5 * time.Minute

// DefaultWebhookMaxBody bounds the body the Handler reads.
const DefaultWebhookMaxBody = 1 << 20

// Secret sizes the specification allows (24 to 64 bytes).
const (
	minWebhookKey = 24
	maxWebhookKey = 64
)

// maxWebhookSignatures bounds how many signatures are checked per delivery, so a
// hostile header cannot make the receiver compute many HMACs.
const maxWebhookSignatures = 16

// Event types linkvault sends; all of them carry a ConnectionEvent in data.
const (
	EventConnectionCreated        = "connection.created"
	EventConnectionReauthRequired = "connection.reauth_required"
	EventConnectionExpiryWarning  = "connection.expiry_warning"
	EventConnectionRecovered      = "connection.recovered"
	EventConnectionRemoved        = "connection.removed"
	// EventConnectionRevoked: the exchange grant of a removed connection reached its
	// final revocation state, Details["revocation"] (revoked, revocationRefused,
	// revocationUnsupported, revocationUnreadable). Data holds TokenID and BrokerType.
	EventConnectionRevoked = "connection.revoked"
	// EventConnectionAccountChanged: a reconnect logged in to a different exchange
	// account; the tokenId stayed. Details["previousAccountIds"] and
	// Details["accountIds"] are comma-separated.
	EventConnectionAccountChanged = "connection.account_changed"
)

// Verification errors; every error Verify returns wraps exactly one of them.
var (
	// ErrWebhookHeaders: webhook-id, webhook-timestamp or webhook-signature is missing.
	ErrWebhookHeaders = errors.New("lvclient: webhook is missing the webhook-id, webhook-timestamp or webhook-signature header")
	// ErrWebhookTimestamp: the timestamp is not unix seconds, or is outside the tolerance
	// (a replay, or a clock that is off).
	ErrWebhookTimestamp = errors.New("lvclient: webhook timestamp is invalid or outside the tolerance")
	// ErrWebhookSignature: no v1 signature matches any of the secrets.
	ErrWebhookSignature = errors.New("lvclient: webhook signature does not match")
)

// WebhookVerifier checks that deliveries come from linkvault. It holds one or more
// secrets: during a rotation give it both the new and the old one. It is safe for
// concurrent use, and prints no key material.
type WebhookVerifier struct {
	keys      []webhookKey
	tolerance time.Duration
	now       func() time.Time
	maxBody   int64
}

// webhookKey is one secret's key bytes.
type webhookKey []byte

// String describes the verifier without key material; GoString and Format make every
// fmt verb (and a copied value) print the same.
func (v WebhookVerifier) String() string {
	return fmt.Sprintf("lvclient.WebhookVerifier(secrets=%d [redacted], tolerance=%v)", len(v.keys), v.tolerance)
}

// GoString implements fmt.GoStringer (%#v) without key material.
func (v WebhookVerifier) GoString() string { return v.String() }

// Format implements fmt.Formatter so every verb prints the redacted description.
func (v WebhookVerifier) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.String())) }

// WebhookOption configures a WebhookVerifier.
type WebhookOption func(*WebhookVerifier)

// WithWebhookTolerance sets how far a timestamp may be from now (default
// DefaultWebhookTolerance). Values of zero or less keep the default: a verifier always
// checks timestamps, since without that check a captured delivery can be replayed.
func WithWebhookTolerance(d time.Duration) WebhookOption {
	return func(v *WebhookVerifier) {
		if d > 0 {
			v.tolerance = d
		}
	}
}

// WithWebhookClock sets the clock timestamps are compared with (default time.Now).
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(v *WebhookVerifier) { v.now = now }
}

// WithWebhookMaxBody bounds the body the Handler reads (default DefaultWebhookMaxBody).
func WithWebhookMaxBody(n int64) WebhookOption {
	return func(v *WebhookVerifier) {
		if n > 0 {
			v.maxBody = n
		}
	}
}

// NewWebhookVerifier returns a verifier accepting signatures made with any of secrets
// ("whsec_<base64>"; the prefix may be left out). A malformed secret is an error that
// names its position, never its value.
func NewWebhookVerifier(secrets []string, opts ...WebhookOption) (*WebhookVerifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("lvclient: NewWebhookVerifier needs at least one secret")
	}
	v := &WebhookVerifier{tolerance: DefaultWebhookTolerance, now: time.Now, maxBody: DefaultWebhookMaxBody}
	for i, s := range secrets {
		key, err := decodeWebhookSecret(s)
		if err != nil {
			return nil, fmt.Errorf("lvclient: webhook secret %d: %w", i+1, err)
		}
		v.keys = append(v.keys, key)
	}
	for _, opt := range opts {
		opt(v)
	}
	return v, nil
}

func decodeWebhookSecret(s string) (webhookKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "whsk_") || strings.HasPrefix(s, "whpk_") {
		return nil, errors.New("is an asymmetric (ed25519) key; linkvault signs with whsec_ secrets")
	}
	s = strings.TrimPrefix(s, WebhookSecretPrefix)
	if s == "" {
		return nil, errors.New("is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("is not whsec_ followed by standard base64")
	}
	if len(key) < minWebhookKey || len(key) > maxWebhookKey {
		return nil, fmt.Errorf("decodes to %d bytes; Standard Webhooks secrets have %d to %d", len(key), minWebhookKey, maxWebhookKey)
	}
	return key, nil
}

// Verify checks one delivery: the three headers are present, the timestamp is within
// the tolerance of now, and at least one v1 signature matches one of the secrets
// (compared in constant time). body must be the raw request body, byte for byte: a
// body decoded and re-encoded does not verify.
//
// Verify does not remember ids: deliveries are at least once, so deduplicate on the
// webhook-id (WebhookEvent.ID) yourself.
func (v *WebhookVerifier) Verify(h http.Header, body []byte) error {
	id, tsText, sigText := h.Get(WebhookIDHeader), h.Get(WebhookTimestampHeader), h.Get(WebhookSignatureHeader)
	if id == "" || tsText == "" || sigText == "" {
		return ErrWebhookHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	if d := v.now().Sub(time.Unix(ts, 0)); d > v.tolerance || d < -v.tolerance {
		return ErrWebhookTimestamp
	}
	sigs := parseWebhookSignatures(sigText)
	if len(sigs) == 0 {
		return ErrWebhookSignature
	}
	for _, key := range v.keys {
		want := webhookSignature(key, id, ts, body)
		for _, got := range sigs {
			if hmac.Equal(want, got) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}

// webhookSignature is HMAC-SHA256(key, id + "." + timestamp + "." + body).
func webhookSignature(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseWebhookSignatures returns the well-formed v1 signatures of a webhook-signature
// header (at most maxWebhookSignatures). Other versions (such as v1a) are skipped.
func parseWebhookSignatures(header string) [][]byte {
	var out [][]byte
	for _, entry := range strings.Fields(header) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(b) != sha256.Size {
			continue
		}
		out = append(out, b)
		if len(out) == maxWebhookSignatures {
			break
		}
	}
	return out
}

// WebhookEvent is one verified delivery.
type WebhookEvent struct {
	// ID is the webhook-id header: unique per event and the same on every retry.
	ID string
	// Type is one of the Event* constants (new types may appear: ignore unknown ones).
	Type string `json:"type"`
	// Timestamp is when the event happened (not when it was delivered).
	Timestamp time.Time `json:"timestamp"`
	// Data is the event's data object; Connection decodes it.
	Data json.RawMessage `json:"data"`
}

// ConnectionEvent is the data of every connection.* event. It never carries
// credentials. connection.revoked, sent for a connection already removed, carries
// TokenID, BrokerType and Details only: UserID, Scope and Status are empty.
type ConnectionEvent struct {
	TokenID    string     `json:"tokenId"`
	UserID     string     `json:"userId"`
	BrokerType BrokerType `json:"brokerType"`
	Scope      string     `json:"scope"`  // read or write
	Status     string     `json:"status"` // the connection's status after the event
	// Details are event-specific: "reason" on connection.reauth_required, "expiresAt"
	// (RFC 3339) on connection.expiry_warning, "revocation" on connection.revoked,
	// "previousAccountIds" and "accountIds" on connection.account_changed.
	Details map[string]string `json:"details,omitempty"`
}

// Connection decodes the data of a connection.* event.
func (e *WebhookEvent) Connection() (*ConnectionEvent, error) {
	var c ConnectionEvent
	if err := json.Unmarshal(e.Data, &c); err != nil {
		return nil, fmt.Errorf("lvclient: webhook %s data: %w", e.Type, err)
	}
	if c.TokenID == "" {
		return nil, fmt.Errorf("lvclient: webhook %s data has no tokenId", e.Type)
	}
	return &c, nil
}

// Parse verifies a delivery and decodes its body.
func (v *WebhookVerifier) Parse(h http.Header, body []byte) (*WebhookEvent, error) {
	if err := v.Verify(h, body); err != nil {
		return nil, err
	}
	var e WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("lvclient: verified webhook body is not the expected JSON: %w", err)
	}
	if e.Type == "" {
		return nil, errors.New("lvclient: verified webhook body has no type")
	}
	e.ID = h.Get(WebhookIDHeader)
	return &e, nil
}

// Handler returns an http.Handler for the webhook endpoint. It reads the body (up to
// the WithWebhookMaxBody bound), verifies and decodes it, then calls fn with the
// request's context. Its answers tell linkvault what to do:
//
//   - 204 when fn returns nil: delivered;
//   - 401 when the delivery does not verify, 400 when it is malformed, 413 when it is
//     too large: linkvault does not retry these, and records them in its delivery log;
//   - 500 when fn returns an error: linkvault retries later with the same webhook-id.
//
// fn should be quick (queue long work) and idempotent on WebhookEvent.ID.
func (v *WebhookVerifier) Handler(fn func(ctx context.Context, e *WebhookEvent) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "webhook endpoint: POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.maxBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, "webhook body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read webhook body", http.StatusBadRequest)
			return
		}
		e, err := v.Parse(r.Header, body)
		switch {
		case errors.Is(err, ErrWebhookHeaders), errors.Is(err, ErrWebhookTimestamp), errors.Is(err, ErrWebhookSignature):
			http.Error(w, "webhook does not verify", http.StatusUnauthorized)
			return
		case err != nil:
			http.Error(w, "malformed webhook body", http.StatusBadRequest)
			return
		}
		if err := fn(r.Context(), e); err != nil {
			http.Error(w, "webhook not processed; retry later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
