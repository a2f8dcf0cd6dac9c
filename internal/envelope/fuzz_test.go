package envelope_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
)

// FuzzOpen feeds arbitrary ciphertexts, tokenIds and key versions to Open: it must never
// panic, must fail with the generic error, and may succeed only for the genuine row.
func FuzzOpen(f *testing.F) {
	store := newMemStore()
	k := newTestKeyring(f, store, 1)
	const client, token = "client", "token"
	plaintext := []byte(`{"v":1,"at":"fuzz-access-token"}`)
	genuine, version := mustSeal(f, k, client, token, plaintext)
	if _, err := k.NewDataKeyVersion(context.Background(), client); err != nil {
		f.Fatal(err)
	}
	f.Add(genuine, token, version)
	f.Add(genuine[:len(genuine)-1], token, version)
	f.Add(genuine, "token2", version)
	f.Add(genuine, token, 2)

	f.Fuzz(func(t *testing.T, ct []byte, tokenID string, keyVersion int) {
		got, err := k.Open(context.Background(), client, tokenID, keyVersion, ct)
		if err == nil {
			if tokenID != token || keyVersion != version || !bytes.Equal(ct, genuine) || !bytes.Equal(got, plaintext) {
				t.Fatalf("Open accepted a forged row (token %q, v%d)", tokenID, keyVersion)
			}
			return
		}
		if got != nil || linkvault.ErrorMessage(err) != genericOpenMessage || linkvault.ErrorStatus(err) != linkvault.StatusServerFailure {
			t.Fatalf("Open failure = %q, %v; want the generic error", got, err)
		}
	})
}

// FuzzLoadMasterKeyring parses arbitrary key text: it must never panic, a parsed
// keyring must be consistent, and errors must not quote key material.
func FuzzLoadMasterKeyring(f *testing.F) {
	f.Add([]byte(keyringText(1)))
	f.Add([]byte(keyringText(1, 2, 3)))
	f.Add([]byte("# comment\nv1:" + b64(1) + " # trailing\n"))
	f.Add([]byte("v1:" + b64(1) + ",v2:" + b64(2)))
	f.Add([]byte("v1:"))
	f.Add([]byte("v:abc"))
	f.Add([]byte("v99999999999999999999:" + b64(1)))

	f.Fuzz(func(t *testing.T, text []byte) {
		m, err := envelope.LoadMasterKeyring(text)
		if err != nil {
			// Any long base64-looking run of the input must not appear in the error.
			for _, field := range strings.FieldsFunc(string(text), func(r rune) bool {
				return r == ':' || r == ' ' || r == '\n' || r == ',' || r == '\t' || r == '\r' || r == '#'
			}) {
				if len(field) >= 16 && strings.Contains(err.Error(), field) {
					t.Fatalf("error %q quotes input text", err)
				}
			}
			return
		}
		versions := m.Versions()
		if len(versions) == 0 || versions[len(versions)-1] != m.Current() || !m.Has(m.Current()) {
			t.Fatalf("inconsistent keyring: current v%d, versions %v", m.Current(), versions)
		}
	})
}
