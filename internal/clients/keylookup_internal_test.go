package clients

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/testdb"
)

// TestEveryAttemptComparesOneVerifier observes the comparison itself: each attempt
// compares the secret with exactly one verifier, the key's own for a known key id and
// the dummy verifier for an unknown or malformed one.
func TestEveryAttemptComparesOneVerifier(t *testing.T) {
	ctx := context.Background()
	svc := New(testdb.SQLite(t), time.Now, time.Minute)
	if _, err := svc.CreateClient(ctx, "app", "app"); err != nil {
		t.Fatal(err)
	}
	key, err := svc.CreateKey(ctx, "app", linkvault.PermissionRead)
	if err != nil {
		t.Fatal(err)
	}
	var compared [][]byte
	svc.verify = func(hash []byte, secret linkvault.Secret) bool {
		compared = append(compared, hash)
		return svc.compare(hash, secret)
	}
	tests := []struct {
		name   string
		secret string
		want   []byte
	}{
		{"known key id, wrong secret", "lvsk_" + key.Key.ID + "_wrong", key.Key.SecretHash},
		{"unknown key id", "lvsk_00000000000000ff_wrong", svc.unknown.SecretHash},
		{"malformed secret", "hunter2", svc.unknown.SecretHash},
		{"right secret", key.Secret.Reveal(), key.Key.SecretHash},
	}
	for _, tt := range tests {
		compared = nil
		_, _ = svc.Authenticate(ctx, "app", linkvault.NewSecret(tt.secret))
		if len(compared) != 1 || !bytes.Equal(compared[0], tt.want) {
			t.Errorf("%s: compared %d verifiers %x, want exactly the %x", tt.name, len(compared), compared, tt.want)
		}
	}
}
