package envelopetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/linkvault/linkvault/internal/proctest"
)

// LocalKMSEnv names a local-kms binary to use instead of building one.
const LocalKMSEnv = "LINKVAULT_TEST_LOCAL_KMS"

// localKMSModule is the tools module pinning github.com/nsmithuk/local-kms.
const localKMSModule = "tools/localkms"

// StartLocalKMS starts github.com/nsmithuk/local-kms, an AWS KMS-compatible server, as a
// process of its own on a free loopback port, with its data in a temporary directory,
// and returns its endpoint URL; it stops with the test. The binary comes from
// LINKVAULT_TEST_LOCAL_KMS, or is built from the Go module proxy at the version
// tools/localkms/go.mod pins (cached between runs).
func StartLocalKMS(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(LocalKMSEnv)
	if bin == "" {
		bin = buildTool(t, localKMSModule, "github.com/nsmithuk/local-kms", "local-kms")
	}
	port := proctest.FreePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", port),
		"KMS_DATA_PATH="+t.TempDir(),
		"KMS_SEED_PATH="+filepath.Join(t.TempDir(), "no-seed.yaml"),
		"KMS_REGION=eu-west-2",
		"KMS_ACCOUNT_ID=111122223333",
	)
	return "http://" + startServer(t, cmd, port, "local-kms")
}

// startServer starts cmd, a server that is to listen on loopback port port, with its
// output kept for the failure message, and waits until it listens; it is killed when
// the test ends. It returns host:port.
func startServer(t testing.TB, cmd *exec.Cmd, port int, what string) string {
	t.Helper()
	log := &proctest.Output{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	proctest.WaitListening(t, addr, what, log.String)
	return addr
}

// toolPath is where buildTool keeps the binary of the tools module dir: a per-user cache,
// keyed by the module's pinned versions.
func toolPath(t testing.TB, dir, name string) string {
	t.Helper()
	root, err := proctest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "linkvault-test", fmt.Sprintf("%s-%x-%s-%s", name, fnv(sum), runtime.GOOS, runtime.GOARCH))
}

// cachedTool returns the binary a previous buildTool left, if any.
func cachedTool(t testing.TB, dir, name string) (string, bool) {
	t.Helper()
	bin := toolPath(t, dir, name)
	_, err := os.Stat(bin)
	return bin, err == nil
}

// buildTool builds pkg from the tools module dir (relative to the repository root) into
// a per-user cache, once per module content, and returns the binary.
func buildTool(t testing.TB, dir, pkg, name string) string {
	t.Helper()
	bin, ok := cachedTool(t, dir, name)
	if ok {
		return bin
	}
	root, err := proctest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, pkg)
	cmd.Dir = filepath.Join(root, dir)
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s (%s): %v\n%s", name, pkg, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// fnv is FNV-1a, enough to key the cache on the pinned versions.
func fnv(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// VaultEnv names a vault (or OpenBao `bao`) binary for the transit tests; without it,
// `vault` or `bao` on the PATH is used.
//
// Nothing is built from the Go module proxy, because neither server can be: Vault's
// go.mod replaces its own sdk and api modules with the copies in its tree, a replace
// that `go build` ignores when Vault is a dependency, and no published sdk matches the
// tree of a Vault release (v1.21.4 against sdk v0.21.0 fails to compile in
// vault/identity_store.go and builtin/logical/transit/path_restore.go); OpenBao has the
// same layout and is not on the module proxy these machines use.
const VaultEnv = "LINKVAULT_TEST_VAULT"

// VaultDev is a running Vault dev-mode server.
type VaultDev struct {
	Addr  string // http://127.0.0.1:port
	Token string // its root token
}

// Admin returns the operator's client for d: the real github.com/hashicorp/vault/api
// client with d's root token.
func (d VaultDev) Admin(t testing.TB) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = d.Addr
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(d.Token)
	return c
}

// SetUpTransit does on d what an operator does before linkvault can use it: `vault
// secrets enable transit` and `vault write transit/keys/<key> type=<keyType>`. It
// returns the operator's client (Admin).
func (d VaultDev) SetUpTransit(t testing.TB, key, keyType string) *vault.Client {
	t.Helper()
	admin := d.Admin(t)
	if err := admin.Sys().MountWithContext(t.Context(), "transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("enable transit: %v", err)
	}
	if _, err := admin.Logical().WriteWithContext(t.Context(), "transit/keys/"+key, map[string]any{"type": keyType}); err != nil {
		t.Fatalf("create transit key %s: %v", key, err)
	}
	return admin
}

// StartVaultDev starts `vault server -dev` (or `bao server -dev`: in-memory storage,
// unsealed, HTTP on a free loopback port, a random root token) as a process of its own;
// it stops with the test. It skips the test, saying why, when no binary is available.
func StartVaultDev(t testing.TB) VaultDev {
	t.Helper()
	bin := os.Getenv(VaultEnv)
	if bin == "" {
		for _, name := range []string{"vault", "bao"} {
			if p, err := exec.LookPath(name); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		t.Skipf("no Vault or OpenBao server binary: set %s to one (a HashiCorp release of vault, or OpenBao's bao), or put vault or bao on the PATH. "+
			"It cannot be built from the Go module proxy: Vault's in-tree sdk and api replaces do not apply to a dependency build, and no published sdk compiles with a Vault release", VaultEnv)
	}
	port := proctest.FreePort(t)
	token := "root-" + fmt.Sprint(fnv([]byte(t.Name()+fmt.Sprint(time.Now().UnixNano()))))
	home := t.TempDir()
	cmd := exec.Command(bin, "server", "-dev",
		"-dev-root-token-id="+token,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port),
		"-dev-no-store-token")
	cmd.Env = append(os.Environ(), "HOME="+home, "VAULT_ADDR=", "VAULT_TOKEN=", "SKIP_SETCAP=1")
	return VaultDev{Addr: "http://" + startServer(t, cmd, port, "vault server -dev"), Token: token}
}
