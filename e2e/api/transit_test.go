package api_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/envelope/transit"
)

// TestMasterKeyFromVaultTransit is TestMasterKeyFromAWSKMS with the master key file
// wrapped by a Vault / OpenBao transit key: a real `vault server -dev` or `bao server -dev`
// when one is installed, else envelopetest.TransitPeer (the transit HTTP API as Vault's
// docs describe it). The binary unwraps at start-up and connects an account; `keys
// rotate` twice writes transit-wrapped v2 and v3 (between them the operator rotates the
// transit key itself, so v3 is sealed by transit key version 2); the old entries are
// dropped and a restarted server opens the credential with v3 alone. Then a server with a
// wrong token, and one with transit down, refuse to start with an error naming the
// transit key and not the token.
func TestMasterKeyFromVaultTransit(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	ctx := context.Background()
	var (
		dev  envelopetest.VaultDev
		peer *envelopetest.TransitPeer
	)
	if d, real := envelopetest.StartTransit(t); real {
		dev = d
	} else {
		peer = envelopetest.StartTransitPeer(t)
		dev = peer.Dev()
	}
	// The operator's side: `vault secrets enable transit`, `vault write
	// transit/keys/linkvault type=aes256-gcm96` (the default type).
	admin := dev.SetUpTransit(t, "linkvault", "aes256-gcm96")
	w, err := transit.New(transit.Config{Address: dev.Addr, Token: dev.Token, Key: "linkvault"})
	if err != nil {
		t.Fatal(err)
	}
	env, keyFile, tok := startWrappedAndRotate(t, w, map[string]string{
		"LINKVAULT_KMS_KIND":        "vault-transit",
		"LINKVAULT_KMS_VAULT_ADDR":  dev.Addr,
		"LINKVAULT_KMS_VAULT_TOKEN": dev.Token,
		"LINKVAULT_KMS_VAULT_KEY":   "linkvault",
	}, "transit-user", "with the transit-wrapped master key")
	env.AddSecret(dev.Token, "the Vault token") // the logs are searched when the test ends
	text, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^v1:vault-transit:\S+\nv2:vault-transit:\S+$`).Match(text) || bytes.Contains(text, []byte("aws-kms")) {
		t.Fatalf("key file after the rotation does not hold v1 and v2 wrapped by vault-transit:\n%s", text)
	}
	// The transit key's own rotation is transparent to linkvault.
	if _, err := admin.Logical().WriteWithContext(ctx, "transit/keys/linkvault/rotate", nil); err != nil {
		t.Fatal(err)
	}
	if out := env.CLI("keys", "rotate"); !strings.Contains(out, "v3") {
		t.Fatalf("second keys rotate printed %q", out)
	}
	last := lastEntry(t, keyFile)
	if !strings.HasPrefix(last, "v3:vault-transit:") {
		t.Fatalf("newest entry is not v3 wrapped by transit")
	}
	// The runbook's last step: keep only the newest entry (v3), restart, and read again.
	keepNewestAndRestart(t, env, keyFile, last, tok).Stop()

	// A wrong token: serve exits at start-up, naming the transit path and Vault's 403.
	badToken := "hvs.not-the-right-token-0123456789"
	stderr := failedStart(t, env, "LINKVAULT_KMS_VAULT_TOKEN="+badToken)
	if !strings.Contains(stderr, "transit/decrypt/linkvault") || !strings.Contains(stderr, "403") {
		t.Fatalf("serve with a wrong token: stderr does not name the transit key and the 403:\n%s", stderr)
	}
	if strings.Contains(stderr, badToken) || strings.Contains(stderr, dev.Token) {
		t.Fatal("serve's start-up error quotes the token")
	}
	if peer == nil {
		return // taking a real server down is left to the operator
	}
	// Transit down: serve exits at start-up saying it cannot reach the transit server.
	peer.Close()
	stderr = failedStart(t, env)
	if !strings.Contains(stderr, "transit/decrypt/linkvault") || !strings.Contains(stderr, "connection refused") || strings.Contains(stderr, dev.Token) {
		t.Fatalf("serve with transit down: stderr does not say transit is unreachable (or quotes the token):\n%s", stderr)
	}
}

// failedStart runs serve with extra variables, expects it to exit non-zero, and returns
// its stderr.
func failedStart(t *testing.T, env *e2etest.Env, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := env.Command("serve")
	cmd.Env = append(cmd.Env, extra...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("serve exited 0; want a start-up failure\n%s", stderr.String())
		}
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done //nolint:errcheck // killed: its exit status says only that
		t.Fatalf("serve did not exit; want a start-up failure\n%s", stderr.String())
	}
	return stderr.String()
}
