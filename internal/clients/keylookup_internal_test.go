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
	db := testdb.SQLite(t)
	svc := New(db, fixedDeriver{}, time.Now, time.Minute)
	key := CreateAppKey(t, svc, linkvault.PermissionRead)
	var compared [][]byte
	svc.verify = func(mac []byte, k *linkvault.APIKey, secret linkvault.Secret) bool {
		compared = append(compared, k.SecretHash)
		return matches(mac, k, secret)
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

// fixedDeriver derives one constant key (the package tests observe the comparison,
// not the derivation).
type fixedDeriver struct{}

func (fixedDeriver) DeriveKey(context.Context, string) ([]byte, error) {
	return bytes.Repeat([]byte{7}, 32), nil
}
