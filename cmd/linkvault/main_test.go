package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/vault"
)

// cliEnv is a sqlite configuration in a temp dir, given to run() as its environment.
type cliEnv struct {
	t    *testing.T
	vars map[string]string
}

func newCLIEnv(t *testing.T) *cliEnv {
	dir := t.TempDir()
	keyFile, _ := envelopetest.WriteMasterKeyFile(t, dir)
	return &cliEnv{t: t, vars: map[string]string{
		"LINKVAULT_SQLITE_PATH":     filepath.Join(dir, "lv.db"),
		"LINKVAULT_MASTER_KEY_FILE": keyFile,
	}}
}

func (e *cliEnv) lookup(k string) (string, bool) { v, ok := e.vars[k]; return v, ok }

func (e *cliEnv) run(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut, e.lookup)
	return out.String(), err
}

// config loads the environment's configuration.
func (e *cliEnv) config(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := loadConfig("", e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (e *cliEnv) mustRun(args ...string) string {
	e.t.Helper()
	out, err := e.run(args...)
	if err != nil {
		e.t.Fatalf("linkvault %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// openApp assembles the server of cfg (not started) on a free loopback port.
func openApp(t *testing.T, cfg *config.Config) *app.App {
	t.Helper()
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.AdminAddr = "127.0.0.1:0"
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newShopEnv is a migrated environment holding the client "shop", and its configuration.
func newShopEnv(t *testing.T) (*cliEnv, *config.Config) {
	t.Helper()
	e := newCLIEnv(t)
	e.mustRun("migrate")
	e.mustRun("clients", "create", "--id", "shop")
	return e, e.config(t)
}

// connectShop stores a Coinbase credential of shop's user u1 holding accessToken
// through a, and returns its token id.
func connectShop(t *testing.T, a *app.App, accessToken string) string {
	t.Helper()
	c, err := a.Vault.Connect(context.Background(), vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "shop", UserID: "u1", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead},
		Credential:         linkvault.Credential{AccessToken: linkvault.NewSecret(accessToken)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.TokenID
}

// storeShopCredential stores a credential as connectShop does through an app of cfg
// that it closes again.
func storeShopCredential(t *testing.T, cfg *config.Config, accessToken string) string {
	t.Helper()
	a := openApp(t, cfg)
	defer a.Close()
	return connectShop(t, a, accessToken)
}

var secretRE = regexp.MustCompile(`secret:\s+(\S+)`)
var keyIDRE = regexp.MustCompile(`key id:\s+(\S+)`)

func TestClientsAndKeysCommands(t *testing.T) {
	e := newCLIEnv(t)
	e.mustRun("migrate")
	e.mustRun("clients", "create", "--id", "shop", "--name", "Shop")
	out := e.mustRun("keys", "create", "--client", "shop", "--permission", "write")
	secret, keyID := secretRE.FindStringSubmatch(out), keyIDRE.FindStringSubmatch(out)
	if secret == nil || keyID == nil {
		t.Fatalf("keys create output:\n%s", out)
	}
	cfg := e.config(t)
	a := openApp(t, cfg)
	defer a.Close()
	if _, err := a.Clients.Authenticate(context.Background(), "shop", linkvault.NewSecret(secret[1])); err != nil {
		t.Fatalf("new key does not authenticate: %v", err)
	}
	if list := e.mustRun("keys", "list", "--client", "shop"); !strings.Contains(list, keyID[1]) || strings.Contains(list, secret[1]) {
		t.Fatalf("keys list must show the key id and never the secret:\n%s", list)
	}
	e.mustRun("keys", "revoke", "--client", "shop", "--key", keyID[1])
	fresh := openApp(t, cfg)
	defer fresh.Close()
	if _, err := fresh.Clients.Authenticate(context.Background(), "shop", linkvault.NewSecret(secret[1])); err == nil {
		t.Fatal("revoked key still authenticates")
	}
}

// TestClientsUpdate: `clients update` sets the name, logo and allowed origins the
// Link page uses (repeat --allowed-origin), and list shows the origins.
func TestClientsUpdate(t *testing.T) {
	e := newCLIEnv(t)
	e.mustRun("migrate")
	e.mustRun("clients", "create", "--id", "shop")
	logo := filepath.Join(t.TempDir(), "logo.svg")
	if err := os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#3652d9"/></svg>`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.mustRun("clients", "update", "--id", "shop", "--name", "Shop & Co", "--logo", logo,
		"--allowed-origin", "https://Shop.example:443/", "--allowed-origin", "http://localhost:3000")
	if !strings.Contains(out, "allowed origins: https://shop.example http://localhost:3000") || !strings.Contains(out, "logo:            set") {
		t.Fatalf("update output:\n%s", out)
	}
	if list := e.mustRun("clients", "list"); !strings.Contains(list, "Shop & Co") || !strings.Contains(list, "https://shop.example http://localhost:3000") {
		t.Fatalf("list:\n%s", list)
	}
	// Without --allowed-origin the origins stay; --no-allowed-origins clears them.
	if out := e.mustRun("clients", "update", "--id", "shop", "--no-logo"); !strings.Contains(out, "https://shop.example") || !strings.Contains(out, "logo:            none") {
		t.Fatalf("update --no-logo:\n%s", out)
	}
	if out := e.mustRun("clients", "update", "--id", "shop", "--no-allowed-origins"); !strings.Contains(out, "allowed origins: none") {
		t.Fatalf("update --no-allowed-origins:\n%s", out)
	}
	if out := e.mustRun("clients", "update", "--id", "shop", "--allowed-origin", "*"); !strings.Contains(out, "allowed origins: *") {
		t.Fatalf("update *:\n%s", out)
	}
}

func TestCommandsRejectBadInput(t *testing.T) {
	e := newCLIEnv(t)
	e.mustRun("migrate")
	e.mustRun("clients", "create", "--id", "shop")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "a command is required"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"bad permission", []string{"keys", "create", "--client", "shop", "--permission", "admin"}, "permission must be"},
		{"unknown client", []string{"keys", "create", "--client", "ghost", "--permission", "read"}, "not found"},
		{"duplicate client", []string{"clients", "create", "--id", "shop"}, "conflict"},
		{"bad client id", []string{"clients", "create", "--id", "no spaces"}, "client id must be"},
		{"backup without --out", []string{"backup"}, "--out is required"},
		{"revoke unknown key", []string{"keys", "revoke", "--client", "shop", "--key", "0000"}, "not found"},
		{"update without --id", []string{"clients", "update", "--name", "X"}, "--id is required"},
		{"update unknown client", []string{"clients", "update", "--id", "ghost", "--name", "X"}, "not found"},
		{"bad allowed origin", []string{"clients", "update", "--id", "shop", "--allowed-origin", "https://app.example/path"}, "must be scheme://host"},
		{"origins and none", []string{"clients", "update", "--id", "shop", "--allowed-origin", "https://a.example", "--no-allowed-origins"}, "exclude each other"},
		{"logo not an image", []string{"clients", "update", "--id", "shop", "--logo", "main_test.go"}, "PNG, JPEG, WebP or SVG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.run(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestKeysRotateRewrapsOnline connects a credential, rotates the master key with the
// CLI while the first app still runs, and checks both the running app and a restarted
// one (reading the new key file) still open every credential.
func TestKeysRotateRewrapsOnline(t *testing.T) {
	e, cfg := newShopEnv(t)
	ctx := context.Background()
	running := openApp(t, cfg)
	defer running.Close()
	tokenID := connectShop(t, running, "at-before-rotation")
	out := e.mustRun("keys", "rotate")
	if !strings.Contains(out, "master key v2") || !strings.Contains(out, "1 data keys re-wrapped") {
		t.Fatalf("rotate output: %s", out)
	}
	master, err := envelope.ReadMasterKeyFile(cfg.MasterKeyFile)
	if err != nil || master.Current() != 2 {
		t.Fatalf("key file after rotation: current=%v err=%v", master, err)
	}
	for name, a := range map[string]*app.App{"running": running} {
		r, err := a.Vault.Resolve(ctx, "shop", tokenID)
		if err != nil || r.Credential.AccessToken.Reveal() != "at-before-rotation" {
			t.Fatalf("%s app after rotation: %v", name, err)
		}
	}
	restarted := openApp(t, cfg)
	defer restarted.Close()
	r, err := restarted.Vault.Resolve(ctx, "shop", tokenID)
	if err != nil || r.Credential.AccessToken.Reveal() != "at-before-rotation" {
		t.Fatalf("restarted app after rotation: %v", err)
	}
	byMaster, err := restarted.Keyring.DataKeysByMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if byMaster[1] != 0 || byMaster[2] != 1 {
		t.Fatalf("data keys by master version = %v, want all on v2", byMaster)
	}
}

// TestKeysRotateRefusesAKeyFileLackingAVersionInUse: with the current version's line
// removed from the key file (or an older copy of the file restored), `keys rotate` once
// appended a fresh key under the missing number, reported the rotation complete, and left
// every data key under the lost key unopenable. It must refuse and change nothing, and
// --status must not call the rotation complete; likewise when the file's v2 is another key.
func TestKeysRotateRefusesAKeyFileLackingAVersionInUse(t *testing.T) {
	e, cfg := newShopEnv(t)
	ctx := context.Background()
	tokenID := storeShopCredential(t, cfg, "at-kept")
	before, err := os.ReadFile(cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	e.mustRun("keys", "rotate")
	rotated, err := os.ReadFile(cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	// The operator restores the key file as it was before the rotation.
	if err := os.WriteFile(cfg.MasterKeyFile, before, 0o600); err != nil {
		t.Fatal(err)
	}
	// refused checks that, in the situation named, --status does not call the rotation
	// complete and says status, and keys rotate refuses saying refusal and leaves the key
	// file as want.
	refused := func(situation, status, refusal string, want []byte) {
		t.Helper()
		if out := e.mustRun("keys", "rotate", "--status"); strings.Contains(out, "rotation complete") || !strings.Contains(out, status) {
			t.Errorf("--status with %s:\n%s", situation, out)
		}
		if _, err := e.run("keys", "rotate", "--wait", "1s"); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), refusal) {
			t.Fatalf("keys rotate with %s: %v, want a refusal saying %q", situation, err, refusal)
		}
		if after, _ := os.ReadFile(cfg.MasterKeyFile); !bytes.Equal(after, want) {
			t.Fatalf("keys rotate changed the key file with %s", situation)
		}
	}
	refused("v2 missing from the key file", "lacks master key v2", "lacks master key v2", before)
	// A v2 that is another key than the one wrapping the data keys (what the previous
	// keys rotate wrote here) is refused alike.
	if _, err := envelope.AddMasterKeyVersion(cfg.MasterKeyFile); err != nil {
		t.Fatal(err)
	}
	foreign, _ := os.ReadFile(cfg.MasterKeyFile)
	refused("another key under v2", "not the key that wrapped the data keys under v2", "does not open the stored data keys", foreign)
	// Restoring the line is the remedy: everything opens again.
	if err := os.WriteFile(cfg.MasterKeyFile, rotated, 0o600); err != nil {
		t.Fatal(err)
	}
	a := openApp(t, cfg)
	defer a.Close()
	if r, err := a.Vault.Resolve(ctx, "shop", tokenID); err != nil || r.Credential.AccessToken.Reveal() != "at-kept" {
		t.Fatalf("after restoring the key file: %v", err)
	}
}

func TestWebhooksPruneCommand(t *testing.T) {
	e := newCLIEnv(t)
	e.mustRun("migrate")
	if out := e.mustRun("webhooks", "prune", "--older-than", "720h"); !strings.Contains(out, "pruned 0 finished webhook events") {
		t.Fatalf("prune output: %s", out)
	}
	for _, bad := range [][]string{{"webhooks", "prune"}, {"webhooks", "prune", "--older-than", "5m"}, {"webhooks", "prune", "--older-than", "soon"}} {
		if _, err := e.run(bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestInit: init creates the configured master key file with mode 0600, refuses to
// overwrite it, and a command that needs a missing key says how to create it.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	e := &cliEnv{t: t, vars: map[string]string{
		"LINKVAULT_SQLITE_PATH":     filepath.Join(dir, "lv.db"),
		"LINKVAULT_MASTER_KEY_FILE": keyFile,
	}}
	if _, err := e.run("webhooks", "set-url", "--client", "x", "--url", "https://example.com/h"); err == nil ||
		!strings.Contains(err.Error(), "LINKVAULT_MASTER_KEY_FILE="+keyFile+" linkvault init") {
		t.Fatalf("a command without its key file: %v, want the init command to run", err)
	}
	out := e.mustRun("init")
	if !strings.Contains(out, keyFile) || !strings.Contains(out, "back it up") {
		t.Fatalf("init output:\n%s", out)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	before, _ := os.ReadFile(keyFile)
	if _, err := envelope.LoadMasterKeyring(before); err != nil {
		t.Fatalf("init wrote a key file that does not load: %v", err)
	}
	if _, err := e.run("init"); err == nil || !strings.Contains(err.Error(), "already exists") || exitCode(err) != 1 {
		t.Fatalf("second init: %v (exit %d), want a refusal with status 1", err, exitCode(err))
	}
	if after, _ := os.ReadFile(keyFile); !bytes.Equal(before, after) {
		t.Fatal("a second init changed the key file")
	}
	// With the key given as a value, there is no file to write.
	e.vars["LINKVAULT_MASTER_KEY"] = string(before)
	delete(e.vars, "LINKVAULT_MASTER_KEY_FILE")
	if _, err := e.run("init"); err == nil || !strings.Contains(err.Error(), "LINKVAULT_MASTER_KEY is set") {
		t.Fatalf("init with LINKVAULT_MASTER_KEY: %v", err)
	}
}

// TestConcurrentKeysRotateRefuses: while one `keys rotate` runs on a key file (its lock
// file exists), another refuses and leaves the key file alone, instead of appending a
// version of its own.
func TestConcurrentKeysRotateRefuses(t *testing.T) {
	e := newCLIEnv(t)
	e.mustRun("migrate")
	keyFile := e.vars["LINKVAULT_MASTER_KEY_FILE"]
	before, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockRotation(keyFile) // the first run holds it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.run("keys", "rotate"); err == nil || !strings.Contains(err.Error(), "another `linkvault keys rotate` is running") {
		t.Fatalf("second keys rotate: %v", err)
	}
	if after, _ := os.ReadFile(keyFile); !bytes.Equal(after, before) {
		t.Fatal("the refused keys rotate changed the key file")
	}
	unlock()
	if out := e.mustRun("keys", "rotate"); !strings.Contains(out, "master key v2 added") || !strings.Contains(out, "rotation complete") {
		t.Fatalf("keys rotate after the first finished:\n%s", out)
	}
	// Finished, a run leaves no lock behind; --status changes nothing.
	if _, err := os.Stat(keyFile + ".rotate-lock"); !os.IsNotExist(err) {
		t.Fatalf("lock file left behind: %v", err)
	}
	if out := e.mustRun("keys", "rotate", "--status"); !strings.Contains(out, "current v2") || !strings.Contains(out, "rotation complete") {
		t.Fatalf("status:\n%s", out)
	}
	// The same facts for scripts.
	var report struct {
		Versions  []int          `json:"versions"`
		Current   int            `json:"current"`
		ByMaster  map[string]int `json:"dataKeysByMasterVersion"`
		State     string         `json:"state"`
		Behind    int            `json:"dataKeysToRewrap"`
		Removable []string       `json:"removableVersions"`
		Message   string         `json:"message"`
	}
	out := e.mustRun("keys", "rotate", "--status", "--json")
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("--status --json: %v\n%s", err, out)
	}
	if report.State != "complete" || report.Current != 2 || !slices.Equal(report.Versions, []int{1, 2}) || report.Behind != 0 ||
		report.ByMaster["v1"] != 0 || !slices.Equal(report.Removable, []string{"v1"}) ||
		!strings.HasPrefix(report.Message, "rotation complete") {
		t.Fatalf("--status --json: %+v", report)
	}
	if _, err := e.run("keys", "rotate", "--json"); err == nil || exitCode(err) != 2 {
		t.Fatalf("keys rotate --json without --status: %v, want a usage error", err)
	}
}

// TestOldBackupUnreadableAfterMasterVersionDestroyed: a backup taken before a rotation
// holds data keys wrapped by the old master version. Once the rotation finished and
// that version is removed from the key file (destroyed), the live database still opens
// every credential but the old backup opens none; with the old version put back it
// does, so it is the destroyed version, and nothing else, that locks the backup.
func TestOldBackupUnreadableAfterMasterVersionDestroyed(t *testing.T) {
	e, cfg := newShopEnv(t)
	ctx := context.Background()
	tokenID := storeShopCredential(t, cfg, "at-in-the-backup")
	backup := filepath.Join(t.TempDir(), "old.db")
	e.mustRun("backup", "--out", backup)
	e.mustRun("keys", "rotate")

	keyFile := cfg.MasterKeyFile
	text, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var v1 string
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		if strings.HasPrefix(line, "v1:") {
			v1 = line
			continue
		}
		kept = append(kept, line)
	}
	if err := os.WriteFile(keyFile, []byte(strings.Join(kept, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resolve := func(dbPath string) error {
		t.Helper()
		c2 := *cfg
		c2.Database.SQLitePath = dbPath
		app := openApp(t, &c2)
		defer app.Close()
		r, err := app.Vault.Resolve(ctx, "shop", tokenID)
		if err == nil && r.Credential.AccessToken.Reveal() != "at-in-the-backup" {
			t.Fatal("resolved another credential")
		}
		return err
	}
	if err := resolve(cfg.Database.SQLitePath); err != nil {
		t.Fatalf("live database after the rotation, v1 destroyed: %v", err)
	}
	if err := resolve(backup); err == nil || !strings.Contains(err.Error(), "not in the keyring") {
		t.Fatalf("old backup with v1 destroyed: %v, want it unreadable for lack of master key v1", err)
	}
	if err := os.WriteFile(keyFile, []byte(v1+"\n"+strings.Join(kept, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := resolve(backup); err != nil {
		t.Fatalf("old backup with v1 back in the key file: %v", err)
	}
}

// TestServeRefusesAKeyFileThatDoesNotOpenTheDataKeys: serve started with a key file
// whose v1 is another key than the one that wrapped the stored data keys exits with
// an error naming the problem, instead of serving and failing every credential use
// (a running server refuses the same file on reload).
func TestServeRefusesAKeyFileThatDoesNotOpenTheDataKeys(t *testing.T) {
	e, cfg := newShopEnv(t)
	storeShopCredential(t, cfg, "at-wrapped-by-the-first-v1")
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	if err := os.WriteFile(cfg.MasterKeyFile, []byte("v1:"+base64.StdEncoding.EncodeToString(other)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars["LINKVAULT_LISTEN_ADDR"] = "127.0.0.1:0"
	e.vars["LINKVAULT_ADMIN_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"serve"}, &out, &errOut, e.lookup)
	if err == nil || !strings.Contains(err.Error(), "does not open the stored data keys") {
		t.Fatalf("serve with another key under v1: %v, want a refusal to start", err)
	}
	if strings.Contains(out.String(), "listening") {
		t.Errorf("serve announced it was listening before refusing:\n%s", out.String())
	}
}
