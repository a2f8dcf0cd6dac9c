package envelope_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/internal/envelope"
)

func b64(v int) string { return base64.StdEncoding.EncodeToString(testKey(v)) }

func TestLoadMasterKeyring(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		current  int
		versions []int
	}{
		{"single key", "v1:" + b64(1), 1, []int{1}},
		{"trailing newline", "v1:" + b64(1) + "\n", 1, []int{1}},
		{"comments and blank lines", "# master keys\n\n  v1:" + b64(1) + "  # first\n#v9:junk\n", 1, []int{1}},
		{"highest version is current, any order", "v3:" + b64(3) + "\nv1:" + b64(1) + "\n", 3, []int{1, 3}},
		{"one-line env form with spaces", "v1:" + b64(1) + " v2:" + b64(2), 2, []int{1, 2}},
		{"one-line env form with commas", "v1:" + b64(1) + ",v2:" + b64(2), 2, []int{1, 2}},
		{"CRLF line endings", "v1:" + b64(1) + "\r\nv2:" + b64(2) + "\r\n", 2, []int{1, 2}},
		{"unpadded base64", "v7:" + strings.TrimRight(b64(7), "="), 7, []int{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := envelope.LoadMasterKeyring([]byte(tt.text))
			if err != nil {
				t.Fatalf("LoadMasterKeyring: %v", err)
			}
			if m.Current() != tt.current || !slices.Equal(m.Versions(), tt.versions) {
				t.Fatalf("current=%d versions=%v, want %d %v", m.Current(), m.Versions(), tt.current, tt.versions)
			}
			for _, v := range tt.versions {
				if !m.Has(v) {
					t.Errorf("Has(%d) = false", v)
				}
			}
		})
	}
}

func TestLoadMasterKeyringErrors(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))
	zero := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name string
		text string
		want string // substring of the error
	}{
		{"empty", "", "no key found"},
		{"only comments", "# nothing here\n\n", "no key found"},
		{"missing version prefix", "# c\n" + b64(1), "line 2: expected v<N>:"},
		{"no colon", "v1" + b64(1), "line 1: expected v<N>:"},
		{"version zero", "v0:" + b64(1), "line 1: version must be"},
		{"version not a number", "vx:" + b64(1), "line 1: version must be"},
		{"negative version", "v-1:" + b64(1), "line 1: version must be"},
		{"bad base64", "v1:" + b64(1)[:20] + "!!" + b64(1)[22:], "line 1: key v1: not valid standard base64"},
		{"short key", "v1:" + short, "decodes to 16 bytes, want 32"},
		{"all-zero key", "v1:" + zero, "all bytes are zero"},
		{"duplicate version", "v1:" + b64(1) + "\nv1:" + b64(2), "line 2: version v1 appears more than once"},
		{"second entry on a line", "v1:" + b64(1) + " v2:" + short, "line 1, entry 2: key v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := envelope.LoadMasterKeyring([]byte(tt.text))
			if err == nil {
				t.Fatalf("LoadMasterKeyring succeeded: %v", m)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			for _, secret := range []string{b64(1), b64(1)[:20], b64(2), short, zero} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q quotes key text", err)
				}
			}
		})
	}
}

func TestMasterKeyringNeverPrintsKeys(t *testing.T) {
	m := testMaster(t, 1, 2)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("text", "keyring", m)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("json", "keyring", m)
	jsonOut, err := json.Marshal(struct{ K *envelope.MasterKeyring }{m})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":            fmt.Sprintf("%v", m),
		"%+v":           fmt.Sprintf("%+v", m),
		"%#v":           fmt.Sprintf("%#v", m),
		"%s":            fmt.Sprintf("%s", m),
		"%x":            fmt.Sprintf("%x", m),
		"%v of value":   fmt.Sprintf("%v", *m),
		"%+v of struct": fmt.Sprintf("%+v", struct{ K *envelope.MasterKeyring }{m}),
		"slog":          logs.String(),
		"json":          string(jsonOut),
	}
	for name, out := range outputs {
		for _, v := range []int{1, 2} {
			key := testKey(v)
			for _, leak := range []string{b64(v), string(key), fmt.Sprintf("%x", key), fmt.Sprintf("%v", key[:8])} {
				if strings.Contains(out, leak) {
					t.Errorf("%s output %q reveals master key v%d", name, out, v)
				}
			}
		}
	}
	if !strings.Contains(outputs["%v"], "current=v2") {
		t.Errorf("String() = %q, want the current version named", outputs["%v"])
	}
}

// readPrivateFile reads a key file after checking that only its owner may read it
// (mode 0600).
func readPrivateFile(t *testing.T, path string) []byte {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("mode = %o, want 600", mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestGenerateMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linkvault.key")
	created, err := envelope.GenerateMasterKeyFile(path)
	if err != nil || !created {
		t.Fatalf("GenerateMasterKeyFile = %v, %v; want true, nil", created, err)
	}
	first := readPrivateFile(t, path)
	m, err := envelope.ReadMasterKeyFile(path)
	if err != nil || m.Current() != 1 || len(m.Versions()) != 1 {
		t.Fatalf("ReadMasterKeyFile = %v, %v; want one key v1", m, err)
	}
	// A second run keeps the existing key.
	created, err = envelope.GenerateMasterKeyFile(path)
	if err != nil || created {
		t.Fatalf("second GenerateMasterKeyFile = %v, %v; want false, nil", created, err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, first) {
		t.Fatal("second GenerateMasterKeyFile changed the file")
	}
	// Two generated files hold different keys.
	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := envelope.GenerateMasterKeyFile(other); err != nil {
		t.Fatal(err)
	}
	if o, _ := os.ReadFile(other); bytes.Equal(o, first) {
		t.Fatal("two generated key files are identical")
	}
}

func TestAddMasterKeyVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "linkvault.key")
	original := "# production keys\nv1:" + b64(1) + "\nv4:" + b64(4) // no trailing newline
	if err := os.WriteFile(path, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := envelope.AddMasterKeyVersion(path)
	if err != nil || v != 5 {
		t.Fatalf("AddMasterKeyVersion = %d, %v; want 5", v, err)
	}
	data := readPrivateFile(t, path)
	if !strings.HasPrefix(string(data), original+"\nv5:") {
		t.Fatalf("existing lines were not kept verbatim:\n%s", data)
	}
	m, err := envelope.ReadMasterKeyFile(path)
	if err != nil || m.Current() != 5 || !slices.Equal(m.Versions(), []int{1, 4, 5}) {
		t.Fatalf("after add: %v, %v", m, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %d entries (temporary files left?), err %v", len(entries), err)
	}
}

func TestAddMasterKeyVersionRefusesInvalidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.key")
	bad := []byte("v1:" + b64(1) + "\nv2:not-a-key\n")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := envelope.AddMasterKeyVersion(path)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("AddMasterKeyVersion error = %v, want a line 2 problem", err)
	}
	if strings.Contains(err.Error(), b64(1)) {
		t.Fatal("error quotes key text")
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, bad) {
		t.Fatal("invalid file was modified")
	}
	if _, err := envelope.AddMasterKeyVersion(filepath.Join(t.TempDir(), "missing.key")); err == nil {
		t.Fatal("AddMasterKeyVersion on a missing file succeeded")
	}
}

func TestReadMasterKeyFileErrorsNameTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	if err := os.WriteFile(path, []byte("# only a comment\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := envelope.ReadMasterKeyFile(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error = %v, want it to name %s", err, path)
	}
}

func TestCheckMasterKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		mode    os.FileMode
		wantErr bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o644, true},
		{0o606, true},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, fmt.Sprintf("k%o", tt.mode))
		if err := os.WriteFile(path, []byte(keyringText(1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		if err := envelope.CheckMasterKeyFileMode(path); (err != nil) != tt.wantErr {
			t.Errorf("mode %o: CheckMasterKeyFileMode = %v, wantErr %v", tt.mode, err, tt.wantErr)
		}
	}
	if err := envelope.CheckMasterKeyFileMode(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file passed the check")
	}
}
