package api_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/awskms"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/envelope/transit"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// TestMasterKeyFromAWSKMS runs the real binary with its master key file wrapped by AWS
// KMS (local-kms, a real process): serve unwraps it at start-up and connects an account;
// `linkvault keys rotate` adds a wrapped v2 and re-wraps the data keys, exactly as with a
// file key; a restarted server opens the credential with v2 alone; and the key file never
// holds a key.
func TestMasterKeyFromAWSKMS(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary and local-kms")
	ctx := context.Background()
	endpoint := envelopetest.StartLocalKMS(t)
	awsEnv := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDLOCALKMS", "AWS_SECRET_ACCESS_KEY": "local-kms-accepts-any-secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "eu-west-2",
	}
	for k, v := range awsEnv {
		t.Setenv(k, v)
	}
	// The operator's side: a symmetric key and an alias (aws kms create-key / create-alias).
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin := kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) })
	key, err := admin.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/linkvault"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	env, keyFile, tok := startWrappedAndRotate(t, awskms.NewFromClient(admin, "alias/linkvault"), map[string]string{
		"LINKVAULT_KMS_KIND":         "aws-kms",
		"LINKVAULT_KMS_AWS_KEY_ID":   "alias/linkvault",
		"LINKVAULT_KMS_AWS_ENDPOINT": endpoint,
	}, "kms-user", "with the KMS-wrapped master key")
	entries := envelopetest.KeyFileEntries(t, keyFile)
	if len(entries) != 2 || !strings.HasPrefix(entries[0], "v1:aws-kms:") || !strings.HasPrefix(entries[1], "v2:aws-kms:") {
		t.Fatalf("key file entries after the rotation: %d, want v1 and v2 both wrapped by aws-kms", len(entries))
	}
	if out := env.CLI("keys", "rotate"); !strings.Contains(out, "v3") {
		t.Fatalf("second keys rotate printed %q", out)
	}
	keepNewestAndRestart(t, env, keyFile, lastEntry(t, keyFile), tok)
}

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

// startWrappedAndRotate runs the runbook up to its first rotation with a master key
// file wrapped by w: serve starts on that file with vars (the KMS settings), an account
// of user is connected and read (what), and `keys rotate` adds v2. It returns the env,
// the key file and the connection's tokenId.
func startWrappedAndRotate(t *testing.T, w envelope.KeyWrapper, vars map[string]string, user, what string) (*e2etest.Env, string, string) {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "linkvault.key")
	if _, err := envelope.GenerateMasterKeyFileWrapped(context.Background(), keyFile, w); err != nil {
		t.Fatal(err)
	}
	vars["LINKVAULT_MASTER_KEY_FILE"] = keyFile
	env := e2etest.Start(t, e2etest.Options{Env: vars})
	tok := connectAndRead(t, env, user, what)
	rotateFirst(t, env)
	return env, keyFile, tok
}

// connectAndRead connects a Coinbase account of user through env's server and
// reads its holdings (what) before anything rotates; it returns the tokenId.
func connectAndRead(t *testing.T, env *e2etest.Env, user, what string) string {
	t.Helper()
	c, err := lvclient.New(env.URL(), env.ClientA.ID, env.ClientA.ReadSecret, lvclient.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tok := connect(t, c, user, lvclient.Coinbase)
	if _, err := c.Holdings(context.Background(), tok, lvclient.Coinbase); err != nil {
		t.Fatalf("holdings %s: %v", what, err)
	}
	return tok
}

// rotateFirst runs the runbook's first `keys rotate`: v2 is added and data keys are
// re-wrapped.
func rotateFirst(t *testing.T, env *e2etest.Env) {
	t.Helper()
	out := env.CLI("keys", "rotate")
	if !regexp.MustCompile(`master key v2 added to .*\n[1-9][0-9]* data keys re-wrapped`).MatchString(out) {
		t.Fatalf("keys rotate printed %q", out)
	}
}

// keepNewestAndRestart is the runbook's last step: the key file keeps only its newest
// entry (last), the server restarts on it, and tok's holdings still read. It returns
// the restarted server.
func keepNewestAndRestart(t *testing.T, env *e2etest.Env, keyFile, last, tok string) *e2etest.Server {
	t.Helper()
	if err := os.WriteFile(keyFile, []byte(last+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env.Servers[0].Stop()
	srv := env.StartServer()
	c, err := lvclient.New(srv.URL, env.ClientA.ID, env.ClientA.ReadSecret, lvclient.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Holdings(context.Background(), tok, lvclient.Coinbase); err != nil {
		t.Fatalf("holdings after the rotations, with only the newest wrapped key: %v", err)
	}
	return srv
}

// lastEntry is the key file's newest entry.
func lastEntry(t *testing.T, path string) string {
	t.Helper()
	entries := envelopetest.KeyFileEntries(t, path)
	if len(entries) == 0 {
		t.Fatalf("%s holds no key", path)
	}
	return entries[len(entries)-1]
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
