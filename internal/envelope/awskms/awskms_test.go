package awskms_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/linkvault/linkvault/internal/envelope/awskms"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
)

// newKey starts local-kms (github.com/nsmithuk/local-kms, a real process speaking the
// AWS KMS API) and creates a symmetric key in it with the SDK, as an operator would
// with `aws kms create-key`; it returns a Wrapper on that key and an admin client.
func newKey(t *testing.T) (*awskms.Wrapper, *kms.Client, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts local-kms")
	}
	endpoint := envelopetest.StartLocalKMS(t)
	// local-kms accepts any credentials; the SDK's default chain reads these.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALKMS")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-kms-accepts-any-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := t.Context()
	w, err := awskms.New(ctx, awskms.Config{KeyID: "alias/linkvault-test", Region: "eu-west-2", Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	admin := awskms.ClientForTest(w)
	key, err := admin.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("linkvault test master key")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if _, err := admin.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/linkvault-test"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	return w, admin, *key.KeyMetadata.KeyId
}

func TestAWSKMSKeyWrapper(t *testing.T) {
	w, _, _ := newKey(t)
	if err := w.Check(t.Context()); err != nil {
		t.Fatalf("Check on a fresh symmetric key: %v", err)
	}
	envelopetest.TestKeyWrapper(t, w)
}

// TestDisabledKey: once the key is disabled in KMS, nothing unwraps, and the error says
// why; enabling it again restores access.
func TestDisabledKey(t *testing.T) {
	w, admin, keyID := newKey(t)
	ctx := t.Context()
	wrapped := wrap(t, w, 1)
	if _, err := admin.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	// AWS answers DisabledException; local-kms answers AccessDeniedException. Both
	// errors must say what to check.
	if _, err := w.Unwrap(ctx, 1, wrapped); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("Unwrap with the key disabled: %v; want an error naming a disabled key as a cause", err)
	}
	if err := w.Check(ctx); err == nil || !strings.Contains(err.Error(), string(types.KeyStateDisabled)) {
		t.Fatalf("Check with the key disabled: %v", err)
	}
	if _, err := admin.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Unwrap(ctx, 1, wrapped); err != nil {
		t.Fatalf("Unwrap after re-enabling: %v", err)
	}
}

// TestAliasMovedToNewKey: an operator moves the alias to a new key (AWS's manual
// rotation); new versions are wrapped by the new key, and entries wrapped by the old key
// keep unwrapping, so the rotation runbook can re-wrap the data keys.
func TestAliasMovedToNewKey(t *testing.T) {
	w, admin, _ := newKey(t)
	ctx := t.Context()
	old := wrap(t, w, 1)
	fresh, err := admin.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/linkvault-test"), TargetKeyId: fresh.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Unwrap(ctx, 1, old); err != nil {
		t.Fatalf("an entry wrapped before the alias moved: %v", err)
	}
	wrap(t, w, 2) // by the key the alias moved to
}

func TestNewNeedsKeyAndRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	if _, err := awskms.New(context.Background(), awskms.Config{}); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("no key id: %v", err)
	}
	if _, err := awskms.New(context.Background(), awskms.Config{KeyID: "alias/x"}); err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("no region: %v", err)
	}
}

// wrap wraps a 32-byte master key as version, failing the test if KMS refuses.
func wrap(t *testing.T, w *awskms.Wrapper, version int) []byte {
	t.Helper()
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i + 1)
	}
	wrapped, err := w.Wrap(t.Context(), version, b)
	if err != nil {
		t.Fatalf("Wrap v%d: %v", version, err)
	}
	return wrapped
}
