package clients

import (
	"context"
	"testing"

	"github.com/linkvault/linkvault"
)

// VerifierForTest is verifier, for tests that forge rows.
var VerifierForTest = verifier

// CreateAppKey creates the client "app" on svc and a key of perm for it.
func CreateAppKey(t testing.TB, svc *Service, perm linkvault.Permission) *NewKey {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.CreateClient(ctx, "app", "app"); err != nil {
		t.Fatal(err)
	}
	key, err := svc.CreateKey(ctx, "app", perm)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
