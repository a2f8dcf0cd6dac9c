package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// Signing per the Standard Webhooks specification: every delivery carries
//
//	webhook-id:        the event id, the same on every retry (receivers deduplicate on it)
//	webhook-timestamp: the attempt's time in unix seconds
//	webhook-signature: space-separated "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>",
//	                   one per active secret (several during a rotation)
//
// Secrets are "whsec_" followed by the base64 of the key bytes.

// Header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the key size of generated secrets (the spec asks for 24..64).
const secretBytes = 32

// DefaultTolerance is how far a delivery's timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

// maxSignatures bounds how many signatures Verify looks at, so a hostile header cannot
// make a receiver compute many HMACs.
const maxSignatures = 16

// NewSecret returns a fresh random signing secret.
func NewSecret() linkvault.Secret {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic("webhook: crypto/rand failed: " + err.Error()) // cannot happen on supported platforms
	}
	return linkvault.NewSecret(SecretPrefix + base64.StdEncoding.EncodeToString(b))
}

// secretKey decodes a secret into its key bytes. The prefix is optional, as the spec
// allows receivers to be given the bare base64.
func secretKey(s linkvault.Secret) ([]byte, error) {
	v := strings.TrimPrefix(s.Reveal(), SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook: malformed signing secret")
	}
	return key, nil
}

// signature computes the raw signature of one delivery.
func signature(key []byte, id string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the webhook-signature header value for a delivery: one "v1," entry per
// secret, in the order given.
func Sign(secrets []linkvault.Secret, id string, timestamp time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("webhook: no signing secret")
	}
	ts := timestamp.Unix()
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return "", err
		}
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(signature(key, id, ts, body)))
	}
	return strings.Join(parts, " "), nil
}

// Verification errors.
var (
	ErrMissingHeaders   = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrInvalidTimestamp = errors.New("webhook: invalid webhook-timestamp")
	ErrTimestampSkew    = errors.New("webhook: webhook-timestamp outside the tolerance")
	ErrNoMatch          = errors.New("webhook: no signature matches")
)

// Verify checks a delivery as a receiver should: the three headers are present, the
// timestamp is within tolerance of now (0: DefaultTolerance), and at least one v1
// signature matches one of the secrets (constant-time comparison). Receivers should
// then deduplicate on the webhook-id header.
func Verify(secrets []linkvault.Secret, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigText := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigText == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestampSkew
	}
	sigs := ParseSignatures(sigText)
	if len(sigs) == 0 {
		return ErrNoMatch
	}
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return err
		}
		want := signature(key, id, ts, body)
		for _, got := range sigs {
			if hmac.Equal(want, got) {
				return nil
			}
		}
	}
	return ErrNoMatch
}

// ParseSignatures extracts the v1 signatures of a webhook-signature header. Entries of
// other versions and malformed entries are skipped; at most 16 are returned.
func ParseSignatures(header string) [][]byte {
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
		if len(out) == maxSignatures {
			break
		}
	}
	return out
}

// SecretAAD is the associated data a client's webhook secret of the given version is
// sealed under (in place of a tokenId), so a sealed secret cannot be moved to another
// version, client or onto a connection row.
func SecretAAD(version int) string { return fmt.Sprintf("webhook-secret/v%d", version) }
