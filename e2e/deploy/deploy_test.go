// Package deploy_test exercises the ways to deploy linkvault that deploy/ ships, the way
// an operator runs them: the container image (deploy/container) under podman against the
// host's PostgreSQL, the Kubernetes manifests (deploy/kubernetes, rendered from the Helm
// chart) under `podman kube play`, and the systemd unit (deploy/systemd) under
// systemd-analyze. Each deployment must come up ready and complete one Link connect
// through the simulated exchanges.
//
// The image tests need the image: .ci/run builds it with deploy/container/build and sets
// LINKVAULT_TEST_IMAGE (and CONTAINERS_CONF, see deploy/container/ci-containers.conf).
// Without it, or without PostgreSQL, they skip and say why.
package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/apispec"
	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/testdb"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// ImageEnv names the image under test.
const ImageEnv = "LINKVAULT_TEST_IMAGE"

// repo returns the repository root.
func repo(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireImage returns the image under test, or skips.
func requireImage(t *testing.T) string {
	t.Helper()
	e2etest.SkipShort(t, "starts containers")
	image := os.Getenv(ImageEnv)
	if image == "" {
		t.Skipf("%s is not set: build the image with deploy/container/build and set it (.ci/run does)", ImageEnv)
	}
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (.ci/run installs it: apt-get install podman runc)")
	}
	testdb.SkipWithoutPostgres(t) // the container tests run against PostgreSQL
	return image
}

// podman runs podman with args and returns its stdout; it fails the test on error.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := podmanErr(args...)
	if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func podmanErr(args ...string) (string, error) {
	cmd := exec.Command("podman", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// containerLogs returns a container's output (podman logs gives the container's stdout
// and stderr on its own stdout and stderr).
func containerLogs(name string) string {
	out, _ := exec.Command("podman", "logs", name).CombinedOutput()
	return string(out)
}

// deployment is what a containerised linkvault needs around it: a PostgreSQL schema of
// its own, the simulated exchanges on loopback, a master key, a free port.
type deployment struct {
	dir       string
	dsn       string
	masterKey string // the key file's content
	keyFile   string
	dsnFile   string
	port      int
	adminPort int
	sim       *exchangesim.Cluster
	secrets   []string // values that must never appear in a log
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{dir: t.TempDir(), dsn: testdb.PostgresDSN(t)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{OnIssue: func(s string) { d.secrets = append(d.secrets, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	d.sim = sim

	keyText, keySecret := envelopetest.MasterKeyText()
	d.masterKey = keyText
	d.secrets = append(d.secrets, keySecret)
	d.keyFile = d.secretFile(t, "master.key", d.masterKey)
	d.dsnFile = d.secretFile(t, "database-url", d.dsn)

	d.port, d.adminPort = proctest.FreePort(t), proctest.FreePort(t)
	return d
}

// secretFile writes a secret the container's user (65532) can read, as a secret mount
// would give it.
func (d *deployment) secretFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(d.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(path, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (d *deployment) url() string { return fmt.Sprintf("http://127.0.0.1:%d", d.port) }

// adminURL is the admin listener's (health, readiness, metrics).
func (d *deployment) adminURL() string { return fmt.Sprintf("http://127.0.0.1:%d", d.adminPort) }

// env is the configuration of the containerised server, beside the secrets: its listen
// address and public URL on this host, and the simulated exchanges.
func (d *deployment) env() map[string]string {
	vars := e2etest.ProviderVars(d.sim)
	for k, v := range vars {
		if strings.HasSuffix(k, "_CLIENT_SECRET") {
			d.secrets = append(d.secrets, v)
		}
	}
	vars["LINKVAULT_LISTEN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", d.port)
	vars["LINKVAULT_ADMIN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", d.adminPort)
	vars["LINKVAULT_PUBLIC_URL"] = d.url()
	return vars
}

// waitReady waits until the admin listener at base is ready, or fails with what logs()
// returns.
func waitReady(t *testing.T, base string, logs func() string) {
	t.Helper()
	if err := e2etest.WaitReady(base, 90*time.Second, nil); err != nil {
		t.Fatalf("%v\n%s", err, logs())
	}
}

// connectOnce creates a write key for clientID with cli (the linkvault CLI as the
// deployment runs it), then uses it as an app would (connectAndRead).
func connectOnce(t *testing.T, d *deployment, cli func(args ...string) string, logs func() string) {
	t.Helper()
	cli("clients", "create", "--id", "app", "--name", "Deploy test app")
	secret := e2etest.KeySecret(cli("keys", "create", "--client", "app", "--permission", "write"))
	if secret == "" {
		t.Fatal("keys create printed no secret")
	}
	d.secrets = append(d.secrets, secret)
	connectAndRead(t, d.url(), "app", secret, "deploy-user", logs)
}

// connectAndRead is an app's first use of linkvault at base with a write key (client,
// secret): it gets a linkToken for user, connects a Coinbase account through Link and
// the simulated exchange, and reads its holdings, every answer held to the API spec. A
// failure shows logs() (the server's output).
func connectAndRead(t *testing.T, base, client, secret, user string, logs func() string) {
	t.Helper()
	hc := checkedClient(t, base)
	c, err := lvclient.New(base, client, secret, lvclient.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lt, err := c.CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: user})
	if err != nil {
		t.Fatalf("linktoken: %v\n%s", err, logs())
	}
	payload, err := linktest.Connect(ctx, hc, lt.LinkToken, string(lvclient.Coinbase), user, exchangesim.DefaultPassword)
	if err != nil {
		t.Fatalf("Link connect through the simulated Coinbase: %v\n%s", err, logs())
	}
	if len(payload.AccountTokens) == 0 || payload.AccountTokens[0].TokenID == "" {
		t.Fatalf("Link payload without a tokenId: %+v", payload)
	}
	h, err := c.Holdings(ctx, payload.AccountTokens[0].TokenID, lvclient.Coinbase)
	if err != nil || h.Type != lvclient.Coinbase {
		t.Fatalf("holdings = %+v, %v\n%s", h, err, logs())
	}
}

// checkPublicListener: the public listener serves no health, metrics or profiles.
func checkPublicListener(t *testing.T, d *deployment) {
	t.Helper()
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		res, err := http.Get(d.url() + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("the public listener answers %s with %d, want 404", path, res.StatusCode)
		}
	}
	res, err := http.Get(d.adminURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("admin /metrics = %d", res.StatusCode)
	}
}

// checkedClient is an HTTP client whose answers from linkvault at base are held to
// api/openapi.json (internal/apispec).
func checkedClient(t *testing.T, base string) *http.Client {
	t.Helper()
	spec, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	hc := spec.Client(base, func(err error) { t.Error(err) })
	hc.Timeout = 30 * time.Second
	return hc
}

// checkLogs fails if a log holds any secret the deployment used.
func (d *deployment) checkLogs(t *testing.T, logs string) {
	t.Helper()
	for _, s := range d.secrets {
		if len(s) >= 8 && strings.Contains(logs, s) {
			t.Errorf("a secret (%d chars, starting %q) appears in the logs", len(s), s[:4])
		}
	}
}

// TestContainerImage runs the image the way docs/operations.md ("Container") does:
// `migrate`, then the admin commands, then `serve`, each a podman run of the image with
// the master key and database URL mounted as files, on the host's network. The server
// must become ready, complete a connect, and stop cleanly on SIGTERM.
func TestContainerImage(t *testing.T) {
	image := requireImage(t)

	// The image is what the Containerfile promises: non-root, the binary as entrypoint,
	// no shell.
	inspect := podman(t, "image", "inspect", "--format", "{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}", image)
	if want := `65532:65532|["/usr/local/bin/linkvault"]|["serve"]`; strings.TrimSpace(inspect) != want {
		t.Fatalf("image config %q, want %q", strings.TrimSpace(inspect), want)
	}
	if _, err := podmanErr("run", "--rm", "--runtime", "runc", "--entrypoint", "/bin/sh", image, "-c", "true"); err == nil {
		t.Fatal("the image has a shell; it should hold the linkvault binary only")
	}

	d := newDeployment(t)
	name := "linkvault-test-" + strings.ToLower(rand.Text()[:10])
	args := func(extra ...string) []string {
		a := []string{"--runtime", "runc", "--network", "host",
			"-v", d.keyFile + ":/run/secrets/linkvault/master.key:ro",
			"-v", d.dsnFile + ":/run/secrets/linkvault/database-url:ro",
			"-e", "LINKVAULT_DATABASE_DRIVER=postgres",
			"-e", "LINKVAULT_DATABASE_URL_FILE=/run/secrets/linkvault/database-url",
			"-e", "LINKVAULT_MASTER_KEY_FILE=/run/secrets/linkvault/master.key",
		}
		for k, v := range d.env() {
			a = append(a, "-e", k+"="+v)
		}
		return append(a, extra...)
	}
	cli := func(cmdArgs ...string) string {
		t.Helper()
		return podman(t, append(append([]string{"run", "--rm"}, args(image)...), cmdArgs...)...)
	}
	cli("migrate")

	podman(t, append(append([]string{"run", "-d", "--name", name}, args()...), image, "serve")...)
	t.Cleanup(func() { _, _ = podmanErr("rm", "-f", "-t", "0", name) })
	logs := func() string { return containerLogs(name) }
	waitReady(t, d.adminURL(), logs)
	checkPublicListener(t, d)
	connectOnce(t, d, cli, logs)

	podman(t, "stop", "-t", "30", name)
	if code := strings.TrimSpace(podman(t, "inspect", "--format", "{{.State.ExitCode}}", name)); code != "0" {
		t.Fatalf("serve exited with %s after SIGTERM, want 0\n%s", code, logs())
	}
	all := containerLogs(name)
	if !strings.Contains(all, "listening") {
		t.Fatalf("server log lacks the listening line:\n%s", all)
	}
	d.checkLogs(t, all)
}

// TestSystemdUnit checks deploy/systemd/linkvault.service as systemd reads it: no
// unknown or misspelt setting, every command present (the real binary, in a scratch
// root), and an exposure score of at most 2.0 from `systemd-analyze security`.
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	root := t.TempDir()
	for _, dir := range []string{"usr/local/bin", "etc/systemd/system", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// systemd resolves the unit's default dependencies from its own unit directory, and
	// resolves symbolic links inside the root: copy both.
	for _, cp := range [][2]string{{"/usr/lib/systemd/system", "usr/lib/systemd/"}, {e2etest.Binary(t), "usr/local/bin/linkvault"}} {
		if out, err := exec.Command("cp", "-a", cp[0], filepath.Join(root, cp[1])).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", cp[0], err, out)
		}
	}
	unit, err := os.ReadFile(filepath.Join(repo(t), "deploy", "systemd", "linkvault.service"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/systemd/system/linkvault.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--man=no", "--root="+root, "/etc/systemd/system/linkvault.service").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(sa, "security", "--offline=yes", "--threshold=20", "--root="+root, "linkvault.service").CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) || err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.0 or error (%v)\n%s", err, out)
	}
	if m := regexp.MustCompile(`Overall exposure level for linkvault.service: ([0-9.]+)`).FindSubmatch(out); m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	} else {
		t.Logf("systemd-analyze security exposure: %s", m[1])
	}
}
