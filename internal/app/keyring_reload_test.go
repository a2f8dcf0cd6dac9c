package app

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
)

// TestReloadRefusesAKeyFileThatDoesNotOpenTheDataKeys: a key file holding every version
// number in use, one of them another key than the one that wrapped the data keys (a
// version lost and re-created, another deployment's file), is refused like a file that
// drops a version: the server keeps its keyring, and says why. It was loaded, and every
// request failed from the next restart on.
func TestReloadRefusesAKeyFileThatDoesNotOpenTheDataKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyFile, secret := envelopetest.WriteMasterKeyFile(t, dir)
	cfg := config.Default()
	cfg.Database.SQLitePath = filepath.Join(dir, "lv.db")
	cfg.MasterKeyFile = keyFile
	cfg.ListenAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	var log bytes.Buffer
	a, err := New(ctx, &cfg, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.Keyring.Seal(ctx, "shop", "tok", []byte("credential")); err != nil {
		t.Fatal(err)
	}
	loaded := a.Keyring.Master()
	w := newKeyringWatch(a)

	other, _ := envelopetest.MasterKeyText() // v1 too, but another key
	if err := os.WriteFile(keyFile, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	w.reload(ctx)
	if a.Keyring.Master() != loaded {
		t.Fatal("the server loaded a key file whose v1 does not open the data keys")
	}
	if !strings.Contains(log.String(), "do not open the stored data keys") {
		t.Fatalf("no log line says why the file was refused:\n%s", log.String())
	}

	// The right file with a version added is loaded.
	if err := os.WriteFile(keyFile, []byte("v1:"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.AddMasterKeyVersion(keyFile); err != nil {
		t.Fatal(err)
	}
	w.reload(ctx)
	if got := a.Keyring.Master().Versions(); len(got) != 2 {
		t.Fatalf("after adding v2 to the right file the keyring holds %v", got)
	}
}
