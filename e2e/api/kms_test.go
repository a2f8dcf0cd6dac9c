package api_test

import (
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
	text, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var entries []string
	for _, line := range strings.Split(string(text), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			entries = append(entries, line)
		}
	}
	if len(entries) != 2 || !strings.HasPrefix(entries[0], "v1:aws-kms:") || !strings.HasPrefix(entries[1], "v2:aws-kms:") {
		t.Fatalf("key file entries after the rotation: %d, want v1 and v2 both wrapped by aws-kms", len(entries))
	}
	if out := env.CLI("keys", "rotate"); !strings.Contains(out, "v3") {
		t.Fatalf("second keys rotate printed %q", out)
	}
	keepNewestAndRestart(t, env, keyFile, lastEntry(t, keyFile), tok)
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

func lastEntry(t *testing.T, path string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := ""
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "v") {
			last = line
		}
	}
	return last
}
