// Package e2etest starts the real linkvault binary for end-to-end tests: it builds
// cmd/linkvault once per test process, runs the simulated exchanges in the test process
// (so tests can inject faults through their Go API), creates clients and API keys with
// the binary's own CLI, and runs one or more `linkvault serve` processes configured
// only through LINKVAULT_* environment variables, exactly as an operator would.
package e2etest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/proctest"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// SkipShort skips t in -short mode, saying what it runs: end-to-end tests build and
// run real processes and take seconds to minutes.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: " + what)
	}
}

// Binary builds cmd/linkvault (once per test process) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "linkvault-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "linkvault")
		root, err := proctest.ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/linkvault")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/linkvault: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Options configures Start.
type Options struct {
	// PostgresDSN, when set, makes the servers use PostgreSQL at this DSN (give each
	// test its own schema via search_path); otherwise a fresh SQLite file is used.
	PostgresDSN string
	// Replicas is the number of serve processes (default 1; SQLite allows only 1).
	Replicas int
	// Sim configures the simulated exchanges.
	Sim exchangesim.ClusterConfig
	// Env adds LINKVAULT_* variables for every process (e.g. refresh settings).
	Env map[string]string
}

// Env is a running end-to-end environment.
type Env struct {
	t       testing.TB
	bin     string
	Dir     string
	Sim     *exchangesim.Cluster
	env     []string
	Servers []*Server

	// Two clients, each with a read and a write key (secrets in plaintext: tests only).
	ClientA, ClientB Client

	mu      sync.Mutex
	secrets map[string]string // secret value -> what it is, for the log check
}

// Client is a client created through the CLI.
type Client struct {
	ID          string
	ReadSecret  string
	WriteSecret string
}

// URL is the base URL of the first server.
func (e *Env) URL() string { return e.Servers[0].URL }

// Start builds and starts everything, and stops it when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.PostgresDSN == "" && opts.Replicas > 1 {
		t.Fatal("e2etest: several replicas need PostgreSQL")
	}
	e := &Env{t: t, bin: Binary(t), Dir: t.TempDir(), secrets: map[string]string{}}
	// Registered first, so it runs last: after every server has stopped and flushed.
	t.Cleanup(e.checkLogs)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	simCfg := opts.Sim
	observe := simCfg.OnIssue
	simCfg.OnIssue = func(secret string) {
		e.AddSecret(secret, "a token issued by a simulated exchange")
		if observe != nil {
			observe(secret)
		}
	}
	sim, err := exchangesim.Start(ctx, simCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	e.Sim = sim

	keyFile, keySecret := envelopetest.WriteMasterKeyFile(t, e.Dir)
	e.AddSecret(keySecret, "the master key")
	vars := map[string]string{
		"LINKVAULT_MASTER_KEY_FILE": keyFile,
		"LINKVAULT_LOG_LEVEL":       "debug",
		"LINKVAULT_LOG_FORMAT":      "json",
	}
	if opts.PostgresDSN != "" {
		vars["LINKVAULT_DATABASE_DRIVER"] = "postgres"
		vars["LINKVAULT_DATABASE_URL"] = opts.PostgresDSN
	} else {
		vars["LINKVAULT_DATABASE_DRIVER"] = "sqlite"
		vars["LINKVAULT_SQLITE_PATH"] = filepath.Join(e.Dir, "linkvault.db")
	}
	for k, v := range app.SimulatorEnv(sim) {
		vars[k] = v
		if strings.HasSuffix(k, "_CLIENT_SECRET") {
			e.AddSecret(v, "an OAuth client secret")
		}
	}
	for k, v := range opts.Env {
		vars[k] = v
	}
	e.env = os.Environ()
	for k, v := range vars {
		e.env = append(e.env, k+"="+v)
	}

	e.CLI("migrate")
	e.ClientA = e.createClient("client-a")
	e.ClientB = e.createClient("client-b")
	for range opts.Replicas {
		e.StartServer()
	}
	return e
}

var secretLine = regexp.MustCompile(`(?m)^\s*secret:\s+(\S+)$`)

// KeySecret returns the secret in the output of `linkvault keys create`, or "" when the
// output holds none.
func KeySecret(out string) string {
	if m := secretLine.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

func (e *Env) createClient(id string) Client {
	e.CLI("clients", "create", "--id", id, "--name", id)
	c := Client{ID: id}
	for _, perm := range []string{"read", "write"} {
		out := e.CLI("keys", "create", "--client", id, "--permission", perm)
		secret := KeySecret(out)
		if secret == "" {
			e.t.Fatalf("keys create printed no secret:\n%s", out)
		}
		if perm == "read" {
			c.ReadSecret = secret
		} else {
			c.WriteSecret = secret
		}
		e.AddSecret(secret, "an API key secret")
	}
	return c
}

// CLI runs the binary with the environment's configuration and returns its stdout.
func (e *Env) CLI(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("linkvault %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Command is the binary with the environment's configuration and args, not started:
// for commands a test runs in the background (keys rotate waiting on replicas).
func (e *Env) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	return cmd
}

// Server is one running `linkvault serve` process.
type Server struct {
	URL string
	// AdminURL is the admin listener's base URL (/metrics, /healthz, /readyz).
	AdminURL string
	LogPath  string
	cmd      *exec.Cmd
	done     chan struct{}
}

var (
	listening      = regexp.MustCompile(`linkvault listening on (\S+)`)
	adminListening = regexp.MustCompile(`linkvault admin listening on (\S+)`)
)

// ServeAddr reads one line of `linkvault serve` output: the address it says its public
// listener, or (admin true) its admin listener, listens on; "" for any other line.
func ServeAddr(line string) (addr string, admin bool) {
	if m := adminListening.FindStringSubmatch(line); m != nil {
		return m[1], true
	}
	if m := listening.FindStringSubmatch(line); m != nil {
		return m[1], false
	}
	return "", false
}

// StartServer starts another serve process on a free loopback port and waits until it
// is ready.
func (e *Env) StartServer() *Server {
	e.t.Helper()
	return e.StartServerWith(nil)
}

// StartServerWith is StartServer with extra LINKVAULT_* variables for this process.
func (e *Env) StartServerWith(vars map[string]string) *Server {
	e.t.Helper()
	n := len(e.Servers)
	logPath := filepath.Join(e.Dir, fmt.Sprintf("server-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(e.bin, "serve")
	cmd.Env = append(append([]string(nil), e.env...), "LINKVAULT_LISTEN_ADDR=127.0.0.1:0", "LINKVAULT_ADMIN_ADDR=127.0.0.1:0")
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &Server{LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close() // the child wrote through its own descriptor; ours was never written
		close(s.done)
	}()
	e.t.Cleanup(func() { s.Stop() })

	addr, admin := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, isAdmin := ServeAddr(sc.Text()); isAdmin {
				admin <- a
			} else if a != "" {
				addr <- a
			}
		}
	}()
	for s.URL == "" || s.AdminURL == "" {
		select {
		case a := <-addr:
			s.URL = "http://" + a
		case a := <-admin:
			s.AdminURL = "http://" + a
		case <-s.done:
			log, _ := os.ReadFile(logPath)
			e.t.Fatalf("linkvault serve exited early:\n%s", log)
		case <-time.After(60 * time.Second):
			e.t.Fatal("linkvault serve did not start within 60s")
		}
	}
	if err := WaitReady(s.AdminURL, 30*time.Second, s.done); err != nil {
		log, _ := os.ReadFile(logPath)
		e.t.Fatalf("%v\n%s", err, log)
	}
	e.Servers = append(e.Servers, s)
	return s
}

// WaitReady polls the admin listener at base until /readyz answers 200, for up to
// within; it gives up at once when done is closed (a nil done never is).
func WaitReady(base string, within time.Duration, done <-chan struct{}) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case <-done:
			return fmt.Errorf("server exited before it was ready")
		default:
		}
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/readyz did not answer 200 within %v (last: %v)", base, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the process gracefully (SIGTERM) and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
// Signal sends sig to the server process (SIGHUP: re-read the master key file).
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Log returns what the server logged so far.
func (s *Server) Log() []byte {
	b, _ := os.ReadFile(s.LogPath)
	return b
}

// AddSecret registers a value that must never appear in any server log (tests add the
// passwords and MFA codes they type, webhook secrets, linkTokens...).
func (e *Env) AddSecret(value, what string) {
	if len(value) < 6 {
		return // too short to search for without false positives
	}
	e.mu.Lock()
	e.secrets[value] = what
	e.mu.Unlock()
}

// checkLogs fails the test if any registered secret appears in a server log. The
// servers log at debug level in JSON, so this covers every log line they wrote.
func (e *Env) checkLogs() {
	for _, leak := range e.LeakedSecrets() {
		e.t.Errorf("a server log contains %s", leak)
	}
}

// LeakedSecrets describes every registered secret found in a server log so far.
func (e *Env) LeakedSecrets() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var leaks []string
	for i, s := range e.Servers {
		log := s.Log()
		runs := urlSafeRuns(log)
		for value, what := range e.secrets {
			// Tokens are base64url: a leaked one is a whole run of such characters, so
			// a set lookup replaces a scan of the log per secret (tens of thousands of
			// tokens in the replica tests). Other secrets are searched for directly.
			found := runs[value]
			if !found && !isURLSafe(value) {
				found = bytes.Contains(log, []byte(value))
			}
			if found {
				leaks = append(leaks, fmt.Sprintf("%s (server %d)", what, i))
			}
		}
	}
	return leaks
}

func isURLSafeByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

func isURLSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isURLSafeByte(s[i]) {
			return false
		}
	}
	return true
}

// urlSafeRuns returns every maximal run of base64url characters in b, and every
// suffix of a run that follows a '_' or '-' (so "Bearer_<token>"-like joins are found).
func urlSafeRuns(b []byte) map[string]bool {
	runs := map[string]bool{}
	for i := 0; i < len(b); {
		if !isURLSafeByte(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isURLSafeByte(b[j]) {
			j++
		}
		run := string(b[i:j])
		runs[run] = true
		for k := 0; k < len(run); k++ {
			if run[k] == '_' || run[k] == '-' {
				runs[run[k+1:]] = true
				runs[run[:k]] = true
			}
		}
		i = j
	}
	return runs
}

// ForgetSecret removes a value registered with AddSecret.
func (e *Env) ForgetSecret(value string) {
	e.mu.Lock()
	delete(e.secrets, value)
	e.mu.Unlock()
}

// SecretCount is how many secrets the log check searches for (so tests can show the
// check was not vacuous).
func (e *Env) SecretCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.secrets)
}

// ProviderVars returns the LINKVAULT_<PROVIDER>_* variables that point a linkvault
// process at the simulated exchanges of sim (app.SimulatorEnv), for tests that start
// linkvault some other way (a container, a pod).
func ProviderVars(sim *exchangesim.Cluster) map[string]string { return app.SimulatorEnv(sim) }
