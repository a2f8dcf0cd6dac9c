package envelopetest

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/envelope"
)

// MasterKeyText returns a new master key file's content, one random version
// ("v1:<base64>\n"), and the key's base64 (a secret no log may contain).
func MasterKeyText() (text, secret string) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("envelopetest: crypto/rand failed: " + err.Error())
	}
	secret = base64.StdEncoding.EncodeToString(key)
	return "v1:" + secret + "\n", secret
}

// MasterKeyring returns a master keyring of one random version.
func MasterKeyring(tb testing.TB) *envelope.MasterKeyring {
	tb.Helper()
	text, _ := MasterKeyText()
	m, err := envelope.LoadMasterKeyring([]byte(text))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// Keyring returns a keyring over store under a new master keyring (MasterKeyring), as
// every test that seals credentials starts.
func Keyring(tb testing.TB, store envelope.DataKeyStore, now func() time.Time) *envelope.Keyring {
	tb.Helper()
	return envelope.New(store, MasterKeyring(tb), now)
}

// WriteMasterKeyFile writes a new master key file (mode 0600) into dir and returns its
// path and the key's base64.
func WriteMasterKeyFile(tb testing.TB, dir string) (path, secret string) {
	tb.Helper()
	text, secret := MasterKeyText()
	path = filepath.Join(dir, "master.key")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path, secret
}
