// Package transit wraps linkvault's master keys with a key of the transit secrets engine
// of HashiCorp Vault or OpenBao (envelope.KeyWrapper): the key file then holds each
// master key only as a transit ciphertext ("vault:v<N>:…"), and only a token allowed to
// call the key's decrypt endpoint can load it.
//
// Calls follow the transit engine's HTTP API (POST <mount>/encrypt/<key> and
// <mount>/decrypt/<key>: https://developer.hashicorp.com/vault/api-docs/secret/transit)
// through github.com/hashicorp/vault/api. Each ciphertext is bound to linkvault's
// master-key purpose and version with the engine's associated_data (AES-GCM key types).
// Transit key rotation (<mount>/keys/<key>/rotate) is transparent: older ciphertexts keep
// decrypting until min_decryption_version is raised past them.
package transit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	vault "github.com/hashicorp/vault/api"

	"github.com/linkvault/linkvault/internal/envelope"
)

// Kind tags key-file entries wrapped by a transit key.
const Kind = "vault-transit"

// DefaultMount is where the transit engine is mounted unless configured otherwise.
const DefaultMount = "transit"

// Config locates the transit key and says how to authenticate.
type Config struct {
	// Address is the Vault or OpenBao server, e.g. https://vault.internal:8200.
	Address string
	// Token authenticates; TokenFile, if set instead, names a file holding the token
	// (e.g. the sink of a Vault Agent, which renews it), read at every call.
	Token     string
	TokenFile string
	// Namespace is the Vault Enterprise / OpenBao namespace, if any.
	Namespace string
	// Mount is the transit engine's mount path (default "transit").
	Mount string
	// Key is the transit key's name. It must be an AES-GCM or ChaCha20-Poly1305 key
	// (the default aes256-gcm96 is), which binds associated data.
	Key string
	// CACert is a PEM file of CAs to trust for Address (default: the system's).
	CACert string
}

// Wrapper is an envelope.KeyWrapper backed by a transit key. It is safe for
// concurrent use.
type Wrapper struct {
	client    *vault.Client
	token     string
	tokenFile string
	mount     string
	key       string
}

var _ envelope.KeyWrapper = (*Wrapper)(nil)

// New returns a Wrapper for cfg.
func New(cfg Config) (*Wrapper, error) {
	switch {
	case cfg.Address == "":
		return nil, errors.New("transit: the Vault/OpenBao address is required")
	case cfg.Key == "":
		return nil, errors.New("transit: the transit key name is required")
	case cfg.Token == "" && cfg.TokenFile == "":
		return nil, errors.New("transit: a token or a token file is required")
	case cfg.Token != "" && cfg.TokenFile != "":
		return nil, errors.New("transit: set the token or the token file, not both")
	}
	if u, err := url.Parse(cfg.Address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("transit: address %q is not an http(s) URL", cfg.Address)
	}
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("transit: client configuration: %w", vc.Error)
	}
	vc.Address = cfg.Address
	if cfg.CACert != "" {
		if err := vc.ConfigureTLS(&vault.TLSConfig{CACert: cfg.CACert}); err != nil {
			return nil, fmt.Errorf("transit: CA certificate: %w", err)
		}
	}
	client, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("transit: %w", err)
	}
	// The token comes from the configuration only, never from VAULT_TOKEN picked up
	// by the client library.
	client.ClearToken()
	if cfg.Namespace != "" {
		client.SetNamespace(cfg.Namespace)
	}
	mount := strings.Trim(cfg.Mount, "/")
	if mount == "" {
		mount = DefaultMount
	}
	return &Wrapper{client: client, token: cfg.Token, tokenFile: cfg.TokenFile, mount: mount, key: cfg.Key}, nil
}

// Kind implements envelope.KeyWrapper.
func (w *Wrapper) Kind() string { return Kind }

// String names the key, for logs.
func (w *Wrapper) String() string {
	return fmt.Sprintf("transit key %s/keys/%s at %s", w.mount, w.key, w.client.Address())
}

// clientWithToken returns a client carrying the current token.
func (w *Wrapper) clientWithToken() (*vault.Client, error) {
	token := w.token
	if w.tokenFile != "" {
		b, err := os.ReadFile(w.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("transit: read token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("transit: token file %s is empty", w.tokenFile)
		}
	}
	c, err := w.client.Clone()
	if err != nil {
		return nil, fmt.Errorf("transit: %w", err)
	}
	c.SetToken(token)
	if ns := w.client.Namespace(); ns != "" {
		c.SetNamespace(ns)
	}
	return c, nil
}

func associatedData(version int) string {
	return base64.StdEncoding.EncodeToString([]byte(envelope.MasterKeyAAD(version)))
}

// Wrap encrypts master key version v with the transit key's latest version.
func (w *Wrapper) Wrap(ctx context.Context, version int, key []byte) ([]byte, error) {
	ct, path, err := w.transform(ctx, "encrypt", version, "plaintext", base64.StdEncoding.EncodeToString(key), "ciphertext")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ct, "vault:v") {
		return nil, fmt.Errorf("transit: %s returned no ciphertext", path)
	}
	return []byte(ct), nil
}

// Unwrap decrypts a wrapped master key of version v.
func (w *Wrapper) Unwrap(ctx context.Context, version int, wrapped []byte) ([]byte, error) {
	pt, path, err := w.transform(ctx, "decrypt", version, "ciphertext", string(wrapped), "plaintext")
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(pt)
	if err != nil {
		return nil, fmt.Errorf("transit: %s returned a plaintext that is not base64", path)
	}
	return key, nil
}

// transform sends the value named in to the transit key's op endpoint ("encrypt" or
// "decrypt"), bound to master key version as associated data, and returns the
// answer's field out and the path it called.
func (w *Wrapper) transform(ctx context.Context, op string, version int, in, value, out string) (string, string, error) {
	c, err := w.clientWithToken()
	if err != nil {
		return "", "", err
	}
	path := w.mount + "/" + op + "/" + url.PathEscape(w.key)
	secret, err := c.Logical().WriteWithContext(ctx, path, map[string]any{
		in:                value,
		"associated_data": associatedData(version),
	})
	if err != nil {
		return "", path, describe(op, path, err)
	}
	v, ok := dataString(secret, out)
	if !ok {
		return "", path, fmt.Errorf("transit: %s returned no %s", path, out)
	}
	return v, path, nil
}

// Check verifies the key exists, can encrypt and decrypt, and binds associated data.
func (w *Wrapper) Check(ctx context.Context) error {
	c, err := w.clientWithToken()
	if err != nil {
		return err
	}
	path := w.mount + "/keys/" + url.PathEscape(w.key)
	secret, err := c.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return describe("read", path, err)
	}
	if secret == nil {
		return fmt.Errorf("transit: key %s not found", path)
	}
	typ, _ := dataString(secret, "type")
	switch typ {
	case "aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "xchacha20-poly1305":
		return nil
	}
	return fmt.Errorf("transit: key %s has type %q; linkvault needs an AEAD key (aes256-gcm96, the default)", path, typ)
}

func dataString(s *vault.Secret, field string) (string, bool) {
	if s == nil || s.Data == nil {
		return "", false
	}
	v, ok := s.Data[field].(string)
	return v, ok && v != ""
}

// describe keeps what an operator needs from a Vault error: the operation, path, HTTP
// status and Vault's messages (which never contain the plaintext or the token).
func describe(op, path string, err error) error {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		hint := ""
		switch re.StatusCode {
		case 403:
			hint = " (the token's policy must allow update on " + path + ")"
		case 404:
			hint = " (no such mount or key)"
		}
		return fmt.Errorf("transit: %s %s: HTTP %d: %s%s", op, path, re.StatusCode, strings.Join(re.Errors, "; "), hint)
	}
	return fmt.Errorf("transit: %s %s: %w", op, path, err)
}
