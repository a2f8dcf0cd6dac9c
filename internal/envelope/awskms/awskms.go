// Package awskms wraps linkvault's master keys with a symmetric AWS KMS key
// (envelope.KeyWrapper): the key file then holds each master key only as a KMS
// ciphertext, and only a process allowed to call kms:Decrypt on that key can load it.
//
// Calls follow the AWS KMS API reference (Encrypt, Decrypt, DescribeKey:
// https://docs.aws.amazon.com/kms/latest/APIReference/) through the AWS SDK for Go v2,
// with credentials from the SDK's default chain (environment, shared config, web identity
// such as EKS IRSA, instance or task role). Every ciphertext carries an encryption context
// binding it to linkvault's master-key purpose and version, which also shows in CloudTrail.
package awskms

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/linkvault/linkvault/internal/envelope"
)

// Kind tags key-file entries wrapped by AWS KMS.
const Kind = "aws-kms"

// Encryption context keys (https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html).
const (
	contextPurpose = "linkvault:purpose"
	contextVersion = "linkvault:master-key-version"
	purpose        = "master-key"
)

// Config locates the KMS key.
type Config struct {
	// KeyID is the key ID, key ARN, alias name ("alias/linkvault") or alias ARN of a
	// symmetric encryption key. New master keys are wrapped with it; unwrapping uses the
	// key recorded in each ciphertext, so entries wrapped before the alias moved to a new
	// key keep unwrapping while the process may still use the old key.
	KeyID string
	// Region is the AWS region; empty takes it from the environment (AWS_REGION) or the
	// shared config.
	Region string
	// Endpoint overrides the KMS endpoint URL (a VPC endpoint, or a KMS-compatible test
	// server); empty uses AWS's.
	Endpoint string
}

// Wrapper is an envelope.KeyWrapper backed by AWS KMS. It is safe for concurrent use.
type Wrapper struct {
	client *kms.Client
	keyID  string
}

var _ envelope.KeyWrapper = (*Wrapper)(nil)

// New returns a Wrapper using the SDK's default credential chain.
func New(ctx context.Context, cfg Config) (*Wrapper, error) {
	if cfg.KeyID == "" {
		return nil, errors.New("awskms: a KMS key id, ARN or alias is required")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("awskms: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("awskms: no AWS region: set it in the configuration or AWS_REGION")
	}
	return NewFromClient(kms.NewFromConfig(awsCfg, func(o *kms.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), cfg.KeyID), nil
}

// NewFromClient returns a Wrapper using an existing client.
func NewFromClient(client *kms.Client, keyID string) *Wrapper {
	return &Wrapper{client: client, keyID: keyID}
}

// Kind implements envelope.KeyWrapper.
func (w *Wrapper) Kind() string { return Kind }

// String names the key, for logs.
func (w *Wrapper) String() string { return "AWS KMS key " + w.keyID }

func encryptionContext(version int) map[string]string {
	return map[string]string{contextPurpose: purpose, contextVersion: strconv.Itoa(version)}
}

// Wrap encrypts master key version v under the configured KMS key.
func (w *Wrapper) Wrap(ctx context.Context, version int, key []byte) ([]byte, error) {
	out, err := w.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(w.keyID),
		Plaintext:         key,
		EncryptionContext: encryptionContext(version),
	})
	if err != nil {
		return nil, describe("Encrypt", w.keyID, err)
	}
	return out.CiphertextBlob, nil
}

// Unwrap decrypts a wrapped master key of version v.
func (w *Wrapper) Unwrap(ctx context.Context, version int, wrapped []byte) ([]byte, error) {
	out, err := w.client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wrapped,
		EncryptionContext: encryptionContext(version),
	})
	if err != nil {
		return nil, describe("Decrypt", w.keyID, err)
	}
	return out.Plaintext, nil
}

// Check verifies the key can wrap master keys: it exists, is enabled, and is a
// symmetric encryption key. For start-up checks and `linkvault keys` diagnostics.
func (w *Wrapper) Check(ctx context.Context) error {
	out, err := w.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(w.keyID)})
	if err != nil {
		return describe("DescribeKey", w.keyID, err)
	}
	md := out.KeyMetadata
	switch {
	case md == nil:
		return fmt.Errorf("awskms: DescribeKey %s returned no metadata", w.keyID)
	case md.KeyState != types.KeyStateEnabled:
		return fmt.Errorf("awskms: key %s is %s, not Enabled", w.keyID, md.KeyState)
	case md.KeyUsage != types.KeyUsageTypeEncryptDecrypt || md.KeySpec != types.KeySpecSymmetricDefault:
		return fmt.Errorf("awskms: key %s is %s/%s; linkvault needs a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)", w.keyID, md.KeySpec, md.KeyUsage)
	}
	return nil
}

// describe turns an SDK error into one an operator can act on. The SDK's messages name
// the operation, key and AWS error code, never the plaintext.
func describe(op, keyID string, err error) error {
	var (
		disabled *types.DisabledException
		notFound *types.NotFoundException
		invalid  *types.InvalidCiphertextException
		state    *types.KMSInvalidStateException
	)
	switch {
	case errors.As(err, &disabled), errors.As(err, &state):
		return fmt.Errorf("awskms: %s with key %s: the key is disabled or pending deletion: %w", op, keyID, err)
	case errors.As(err, &notFound):
		return fmt.Errorf("awskms: %s: key %s not found (check the key id and region): %w", op, keyID, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("awskms: %s: the wrapped key does not decrypt (damaged, another key's, or another version's entry): %w", op, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
		return fmt.Errorf("awskms: %s with key %s: access denied (the key policy or IAM must allow kms:%s to this process; the key may also be disabled or in another region): %w", op, keyID, op, err)
	}
	return fmt.Errorf("awskms: %s with key %s: %w", op, keyID, err)
}
