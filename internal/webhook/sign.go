package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
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
// Secrets are "whsec_" followed by the base64 of the key bytes. linkvault only signs:
// receivers verify with the Go SDK's WebhookVerifier (sdk/go) or any Standard Webhooks
// library, and the tests check this package's signatures with both.

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
	_, _ = fmt.Fprintf(m, "%s.%d.", id, timestamp) // a hash.Hash's Write never fails
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

// SecretAAD is the associated data a client's webhook secret of the given version is
// sealed under (in place of a tokenId), so a sealed secret cannot be moved to another
// version, client or onto a connection row.
func SecretAAD(version int) string { return fmt.Sprintf("webhook-secret/v%d", version) }
