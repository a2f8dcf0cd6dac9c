// Package envelopetest is the conformance suite every envelope.KeyWrapper (each external
// KMS) passes, and starts the KMS servers those tests run against as real processes.
// Test code only.
package envelopetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/testdb"
)

// TestKeyWrapper runs the suite against w.
func TestKeyWrapper(t *testing.T, w envelope.KeyWrapper) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, w) })
	t.Run("RotationRunbook", func(t *testing.T) { testRotationRunbook(t, w) })
	t.Run("FromFileKeyToKMS", func(t *testing.T) { testFromFileKey(t, w) })
	t.Run("Misconfiguration", func(t *testing.T) { testMisconfiguration(t, w) })
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, envelope.MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// testRoundTrip: a wrapped key unwraps to itself for its own version only, never shows
// the key, and does not unwrap when damaged.
func testRoundTrip(t *testing.T, w envelope.KeyWrapper) {
	ctx := t.Context()
	key := randomKey(t)
	wrapped, err := w.Wrap(ctx, 3, key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, key) || bytes.Contains(wrapped, []byte(base64.StdEncoding.EncodeToString(key))) {
		t.Fatal("the wrapped key contains the key")
	}
	got, err := w.Unwrap(ctx, 3, wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Unwrap = %x, %v; want the key back", got, err)
	}
	if _, err := w.Unwrap(ctx, 4, wrapped); err == nil {
		t.Fatal("a v3 wrapped key unwrapped as v4: the version is not bound")
	}
	damaged := bytes.Clone(wrapped)
	damaged[len(damaged)/2] ^= 0x01
	if got, err := w.Unwrap(ctx, 3, damaged); err == nil && bytes.Equal(got, key) {
		t.Fatal("a damaged wrapped key unwrapped")
	}
	_, err = w.Unwrap(ctx, 4, wrapped)
	if s := err.Error(); strings.Contains(s, base64.StdEncoding.EncodeToString(key)) || strings.Contains(s, base64.StdEncoding.EncodeToString(wrapped)[:16]) {
		t.Fatalf("an error quotes key material: %s", s)
	}
}

// sealed is one credential sealed for a client.
type sealed struct {
	client, token string
	version       int
	ct            []byte
	plain         string
}

func sealSome(t *testing.T, ring *envelope.Keyring, n int) []sealed {
	t.Helper()
	var out []sealed
	for i := range n {
		s := sealed{client: "client-" + string(rune('a'+i)), token: linkvault.NewTokenID(), plain: "credential-" + linkvault.NewRandomID(8)}
		ct, v, err := ring.Seal(t.Context(), s.client, s.token, []byte(s.plain))
		if err != nil {
			t.Fatal(err)
		}
		s.ct, s.version = ct, v
		out = append(out, s)
	}
	return out
}

func openAll(t *testing.T, ring *envelope.Keyring, creds []sealed) {
	t.Helper()
	for _, c := range creds {
		pt, err := ring.Open(t.Context(), c.client, c.token, c.version, c.ct)
		if err != nil || string(pt) != c.plain {
			t.Fatalf("Open(%s) = %q, %v", c.client, pt, err)
		}
	}
}

func newDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db := testdb.SQLite(t)
	for i := range 3 {
		id := "client-" + string(rune('a'+i))
		if err := db.CreateClient(t.Context(), &linkvault.Client{ID: id, Name: id, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// KeyFileEntries returns the entries of the master key file at path, the oldest version
// first: its lines but blank lines and comments.
func KeyFileEntries(tb testing.TB, path string) []string {
	tb.Helper()
	return entries(readFile(tb, path))
}

// entries returns the key lines of a key file.
func entries(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// testRotationRunbook follows docs/operations.md's key rotation runbook with the key
// file wrapped by w: generate, seal, add a version, reload, re-wrap every data key, drop
// the old version, and every credential still opens.
func testRotationRunbook(t *testing.T, w envelope.KeyWrapper) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "linkvault.key")
	created, err := envelope.GenerateMasterKeyFileWrapped(ctx, path, w)
	if err != nil || !created {
		t.Fatalf("GenerateMasterKeyFileWrapped = %v, %v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	lines := KeyFileEntries(t, path)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "v1:"+w.Kind()+":") {
		t.Fatalf("key file entries %q; want one v1:%s: entry", lines, w.Kind())
	}
	if _, err := envelope.ReadMasterKeyFile(path); err == nil || !strings.Contains(err.Error(), w.Kind()) {
		t.Fatalf("reading a wrapped key file without the KMS: %v; want an error naming %s", err, w.Kind())
	}
	master, err := envelope.ReadMasterKeyFileWrapped(ctx, path, w)
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	ring := envelope.New(db, master, time.Now)
	creds := sealSome(t, ring, 3)

	v, err := envelope.AddMasterKeyVersionWrapped(ctx, path, w)
	if err != nil || v != 2 {
		t.Fatalf("AddMasterKeyVersionWrapped = v%d, %v", v, err)
	}
	master2, err := envelope.ReadMasterKeyFileWrapped(ctx, path, w)
	if err != nil || master2.Current() != 2 {
		t.Fatalf("reload after adding v2: %v, %v", master2, err)
	}
	ring2 := envelope.New(db, master2, time.Now)
	n, err := ring2.RotateMaster(ctx)
	if err != nil || n != 3 {
		t.Fatalf("RotateMaster = %d, %v; want 3 data keys re-wrapped", n, err)
	}
	if n, err := ring2.RotateMaster(ctx); err != nil || n != 0 {
		t.Fatalf("second RotateMaster = %d, %v; want 0 (rotation complete)", n, err)
	}
	if by, err := ring2.DataKeysByMaster(ctx); err != nil || by[2] != 3 || len(by) != 1 {
		t.Fatalf("data keys by master version %v, %v", by, err)
	}

	// Step 4: drop v1 from the file; a fresh process opens everything with v2 alone.
	var kept []string
	for _, line := range strings.Split(readFile(t, path), "\n") {
		if !strings.HasPrefix(line, "v1:") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	master3, err := envelope.ReadMasterKeyFileWrapped(ctx, path, w)
	if err != nil || master3.Current() != 2 || master3.Has(1) {
		t.Fatalf("keyring after dropping v1: %v, %v", master3, err)
	}
	// Only data keys were re-wrapped; the credentials sealed before open unchanged.
	openAll(t, envelope.New(db, master3, time.Now), creds)
}

// testFromFileKey: a keyring with a plain file key moves to the KMS by adding a wrapped
// version, rotating, and dropping the plain line.
func testFromFileKey(t *testing.T, w envelope.KeyWrapper) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "linkvault.key")
	if _, err := envelope.GenerateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	plain, err := envelope.ReadMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	creds := sealSome(t, envelope.New(db, plain, time.Now), 2)
	if v, err := envelope.AddMasterKeyVersionWrapped(ctx, path, w); err != nil || v != 2 {
		t.Fatalf("AddMasterKeyVersionWrapped on a plain file = v%d, %v", v, err)
	}
	mixed, err := envelope.ReadMasterKeyFileWrapped(ctx, path, w)
	if err != nil || !mixed.Has(1) || mixed.Current() != 2 {
		t.Fatalf("mixed keyring %v, %v", mixed, err)
	}
	if n, err := envelope.New(db, mixed, time.Now).RotateMaster(ctx); err != nil || n != 2 {
		t.Fatalf("RotateMaster = %d, %v", n, err)
	}
	lines := KeyFileEntries(t, path)
	if err := os.WriteFile(path, []byte(lines[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kmsOnly, err := envelope.ReadMasterKeyFileWrapped(ctx, path, w)
	if err != nil {
		t.Fatal(err)
	}
	openAll(t, envelope.New(db, kmsOnly, time.Now), creds)
}

// otherKind is w under another name, as if the file were written for another KMS.
type otherKind struct{ envelope.KeyWrapper }

func (otherKind) Kind() string { return "other-kms" }

// testMisconfiguration: a key file for another KMS, or a wrapped entry moved to another
// version, fails to load with an error saying so, without key material.
func testMisconfiguration(t *testing.T, w envelope.KeyWrapper) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "linkvault.key")
	if _, err := envelope.GenerateMasterKeyFileWrapped(ctx, path, w); err != nil {
		t.Fatal(err)
	}
	text := readFile(t, path)
	if _, err := envelope.ReadMasterKeyFileWrapped(ctx, path, otherKind{w}); err == nil || !strings.Contains(err.Error(), w.Kind()) || !strings.Contains(err.Error(), "other-kms") {
		t.Fatalf("loading with another KMS configured: %v", err)
	}
	moved := strings.Replace(text, "\nv1:", "\nv7:", 1)
	if moved == text {
		t.Fatal("test setup: no v1 entry to move")
	}
	_, err := envelope.LoadMasterKeyringWrapped(ctx, []byte(moved), w)
	if err == nil {
		t.Fatal("a v1 wrapped key loaded as v7")
	}
	blob := strings.TrimSpace(entries(text)[0][len("v1:"+w.Kind()+":"):])
	if strings.Contains(err.Error(), blob[:16]) {
		t.Fatalf("the error quotes the wrapped key: %v", err)
	}
}
