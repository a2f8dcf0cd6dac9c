package envelope

import (
	"testing"

	"github.com/linkvault/linkvault"
)

// UnwrapForTest unwraps a stored data key with k's master keyring, for tests that
// recompute what the keyring derives from it.
func UnwrapForTest(t *testing.T, k *Keyring, dk *linkvault.DataKey) []byte {
	t.Helper()
	key, err := k.Master().unwrap(dk.ClientID, dk.Version, dk.MasterVersion, dk.Wrapped)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
