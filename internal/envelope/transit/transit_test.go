package transit_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/envelope/transit"
)

// setup starts a Vault or OpenBao dev server (a real process) when one is available, else
// envelopetest's TransitPeer (the transit HTTP API transcribed from Vault's docs), mounts
// the transit engine and creates a key, as an operator would with `vault secrets enable
// transit` and `vault write transit/keys/linkvault type=...`; it returns the server and
// an admin client (the real github.com/hashicorp/vault/api client in both cases).
func setup(t *testing.T, keyType string) (envelopetest.VaultDev, *vault.Client) {
	t.Helper()
	dev, _ := envelopetest.StartTransit(t)
	return dev, dev.SetUpTransit(t, "linkvault", keyType)
}

func wrapper(t *testing.T, cfg transit.Config) *transit.Wrapper {
	t.Helper()
	w, err := transit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestTransitKeyWrapper(t *testing.T) {
	dev, _ := setup(t, "aes256-gcm96")
	w := wrapper(t, transit.Config{Address: dev.Addr, Token: dev.Token, Key: "linkvault"})
	if err := w.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	envelopetest.TestKeyWrapper(t, w)
}

// TestTransitKeyRotation: rotating the transit key in Vault changes nothing for
// linkvault (old entries keep unwrapping, new ones use the new version) until the
// operator raises min_decryption_version past an entry still in use, which then fails to
// load with Vault's reason.
func TestTransitKeyRotation(t *testing.T) {
	dev, admin := setup(t, "aes256-gcm96")
	w := wrapper(t, transit.Config{Address: dev.Addr, Token: dev.Token, Key: "linkvault"})
	ctx := t.Context()
	key := []byte("0123456789abcdef0123456789abcdef")
	v1, err := w.Wrap(ctx, 1, key)
	if err != nil || !strings.HasPrefix(string(v1), "vault:v1:") {
		t.Fatalf("Wrap = %q, %v", v1, err)
	}
	if _, err := admin.Logical().WriteWithContext(ctx, "transit/keys/linkvault/rotate", nil); err != nil {
		t.Fatal(err)
	}
	v2, err := w.Wrap(ctx, 2, key)
	if err != nil || !strings.HasPrefix(string(v2), "vault:v2:") {
		t.Fatalf("Wrap after the transit rotation = %q, %v", v2, err)
	}
	if got, err := w.Unwrap(ctx, 1, v1); err != nil || string(got) != string(key) {
		t.Fatalf("an entry wrapped before the transit rotation: %v", err)
	}
	if _, err := admin.Logical().WriteWithContext(ctx, "transit/keys/linkvault/config", map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Unwrap(ctx, 1, v1); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("an entry below min_decryption_version: %v", err)
	}
}

// TestTransitAccess: a token without access gets a 403 with the path to grant; a token
// file is read at every call, so a renewed token (Vault Agent) is picked up.
func TestTransitAccess(t *testing.T) {
	dev, admin := setup(t, "aes256-gcm96")
	ctx := t.Context()
	if err := admin.Sys().PutPolicyWithContext(ctx, "linkvault", `path "transit/encrypt/linkvault" { capabilities = ["update"] }
path "transit/decrypt/linkvault" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.Auth().Token().CreateWithContext(ctx, &vault.TokenCreateRequest{Policies: []string{"linkvault"}})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("not-a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := wrapper(t, transit.Config{Address: dev.Addr, TokenFile: tokenFile, Key: "linkvault"})
	if _, err := w.Wrap(ctx, 1, make([]byte, 32)); err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "transit/encrypt/linkvault") {
		t.Fatalf("Wrap with a bad token: %v; want a 403 naming the path", err)
	}
	if err := os.WriteFile(tokenFile, []byte(tok.Auth.ClientToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrapped, err := w.Wrap(ctx, 1, make([]byte, 32))
	if err != nil {
		t.Fatalf("Wrap after the token file was renewed: %v", err)
	}
	if _, err := w.Unwrap(ctx, 1, wrapped); err != nil {
		t.Fatalf("Unwrap with the policy's token: %v", err)
	}
	if strings.Contains(err2s(w.Wrap(ctx, 1, nil)), tok.Auth.ClientToken) {
		t.Fatal("an error quotes the token")
	}
}

func err2s(_ []byte, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestTransitKeyTypeChecked: a key that cannot bind associated data is refused by Check.
func TestTransitKeyTypeChecked(t *testing.T) {
	dev, _ := setup(t, "rsa-2048")
	w := wrapper(t, transit.Config{Address: dev.Addr, Token: dev.Token, Key: "linkvault"})
	if err := w.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "rsa-2048") {
		t.Fatalf("Check on an RSA key: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []transit.Config{
		{Key: "k", Token: "t"},
		{Address: "http://127.0.0.1:8200", Token: "t"},
		{Address: "http://127.0.0.1:8200", Key: "k"},
		{Address: "http://127.0.0.1:8200", Key: "k", Token: "t", TokenFile: "/f"},
		{Address: "127.0.0.1:8200", Key: "k", Token: "t"},
	} {
		if _, err := transit.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestTransitUnavailable: a sealed server (503) and one that is not listening both fail
// with an error naming the operation and path, never the token.
func TestTransitUnavailable(t *testing.T) {
	peer := envelopetest.StartTransitPeer(t)
	admin := peer.Dev().Admin(t)
	if err := admin.Sys().MountWithContext(t.Context(), "transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	w := wrapper(t, transit.Config{Address: peer.Addr, Token: peer.Token, Key: "linkvault"})
	wrapped, err := w.Wrap(t.Context(), 1, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	peer.SetDown(true)
	_, err = w.Unwrap(t.Context(), 1, wrapped)
	if err == nil || !strings.Contains(err.Error(), "transit: decrypt transit/decrypt/linkvault: HTTP 503") || strings.Contains(err.Error(), peer.Token) {
		t.Fatalf("Unwrap from a sealed server: %v", err)
	}
	peer.Close()
	_, err = w.Unwrap(t.Context(), 1, wrapped)
	if err == nil || !strings.Contains(err.Error(), "transit: decrypt transit/decrypt/linkvault") || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), peer.Token) {
		t.Fatalf("Unwrap from a server that is down: %v", err)
	}
}

// TestTransitNamespace: with a namespace the wrapper sends X-Vault-Namespace, so it
// finds the engine mounted in that namespace and not the root one.
func TestTransitNamespace(t *testing.T) {
	dev, real := envelopetest.StartTransit(t)
	if real {
		t.Skip("namespaces need Vault Enterprise or OpenBao's namespaces; checked on the peer")
	}
	admin := dev.Admin(t)
	admin.SetNamespace("team-a")
	if err := admin.Sys().MountWithContext(t.Context(), "transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	inNS := wrapper(t, transit.Config{Address: dev.Addr, Token: dev.Token, Namespace: "team-a", Key: "linkvault"})
	wrapped, err := inNS.Wrap(t.Context(), 1, make([]byte, 32))
	if err != nil {
		t.Fatalf("Wrap in the namespace: %v", err)
	}
	if _, err := inNS.Unwrap(t.Context(), 1, wrapped); err != nil {
		t.Fatalf("Unwrap in the namespace: %v", err)
	}
	root := wrapper(t, transit.Config{Address: dev.Addr, Token: dev.Token, Key: "linkvault"})
	if _, err := root.Unwrap(t.Context(), 1, wrapped); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("Unwrap outside the namespace: %v; want a 404 (no such mount)", err)
	}
}
