package deploy_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/e2etest"
)

// readmeBlock returns the lines of the ```sh block that follows the marker
// <!-- readme:NAME --> in README.md, up to <!-- /readme:NAME -->.
func readmeBlock(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	begin, end := "<!-- readme:"+name+" -->", "<!-- /readme:"+name+" -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s section", begin, end)
	}
	block := strings.TrimSpace(s[i+len(begin) : j])
	if !strings.HasPrefix(block, "```sh\n") || !strings.HasSuffix(block, "\n```") {
		t.Fatalf("README.md section %s is not one ```sh block:\n%s", name, block)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(block, "```sh\n"), "\n```"), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// script is a README block running under sh in its own process group, with its
// output collected.
type script struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   strings.Builder
	addr  chan string
	admin chan string
	done  chan struct{}
}

// startScript runs lines as one `sh -e` script in dir with env, and returns at once.
func startScript(t *testing.T, dir string, env, lines []string) *script {
	t.Helper()
	s := &script{addr: make(chan string, 1), admin: make(chan string, 1), done: make(chan struct{})}
	s.cmd = exec.Command("sh", "-e", "-c", strings.Join(lines, "\n"))
	s.cmd.Dir, s.cmd.Env = dir, env
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.out.WriteString(line + "\n")
			s.mu.Unlock()
			if a, admin := e2etest.ServeAddr(line); a != "" {
				ch := s.addr
				if admin {
					ch = s.admin
				}
				select {
				case ch <- a:
				default:
				}
			}
		}
	}()
	go func() {
		_ = s.cmd.Wait()
		pw.Close()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	return s
}

func (s *script) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitServing returns the base URLs of the script's `linkvault serve`: the public
// listener and the admin one.
func (s *script) waitServing(t *testing.T) (public, admin string) {
	t.Helper()
	for public == "" || admin == "" {
		select {
		case a := <-s.addr:
			public = "http://" + a
		case a := <-s.admin:
			admin = "http://" + a
		case <-s.done:
			t.Fatalf("the README commands stopped before serve listened (%v):\n%s", s.cmd.ProcessState, s.output())
		case <-time.After(2 * time.Minute):
			t.Fatalf("serve did not listen within 2 minutes:\n%s", s.output())
		}
	}
	return public, admin
}

// stop signals the script's whole process group (the server, a background simulator)
// and waits for it.
func (s *script) stop(sig syscall.Signal) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// TestREADMEProductionPath follows README.md's "Running it for real" on the binary, as
// written: the commands between <!-- readme:production --> markers run in an empty
// directory with no LINKVAULT_* setting but the listen addresses (free ports, so tests
// can run side by side), and the server must become ready; then the block between
// <!-- readme:simulators --> markers starts the simulated exchanges, points serve at
// them, and an app connects a Coinbase account through Link and reads its holdings with
// the API key the README's commands printed. A README change that breaks the path
// breaks this test.
func TestREADMEProductionPath(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the binary")
	prod := readmeBlock(t, "production")
	// The build line is the one command not run as written: the binary the test suite
	// builds (the same `go build` of ./cmd/linkvault) is put where it would write it,
	// rather than writing into the checkout.
	if want := "go build -o linkvault ./cmd/linkvault"; prod[0] != want {
		t.Fatalf("README's production block starts with %q; the test expects %q", prod[0], want)
	}
	if last := prod[len(prod)-1]; !strings.HasPrefix(last, "./linkvault serve") {
		t.Fatalf("README's production block ends with %q, not with ./linkvault serve", last)
	}
	dir := t.TempDir()
	bin, err := os.ReadFile(e2etest.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "linkvault"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LINKVAULT_") {
			env = append(env, kv)
		}
	}
	env = append(env, "LINKVAULT_LISTEN_ADDR=127.0.0.1:0", "LINKVAULT_ADMIN_ADDR=127.0.0.1:0")

	s := startScript(t, dir, env, prod[1:])
	_, admin := s.waitServing(t)
	waitReady(t, admin, s.output)
	out := s.output()
	fi, err := os.Stat(filepath.Join(dir, "linkvault.key"))
	if err != nil {
		t.Fatalf("init made no linkvault.key: %v\n%s", err, out)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("linkvault.key has mode %04o, want 0600", fi.Mode().Perm())
	}
	for _, want := range []string{"master key v1 written to", "back it up", "client created", "API key created"} {
		if !strings.Contains(out, want) {
			t.Errorf("the README commands' output lacks %q:\n%s", want, out)
		}
	}
	secret := e2etest.KeySecret(out)
	if secret == "" {
		t.Fatalf("keys create printed no secret:\n%s", out)
	}
	s.stop(syscall.SIGTERM)

	sim := startScript(t, dir, env, readmeBlock(t, "simulators"))
	base, admin := sim.waitServing(t)
	waitReady(t, admin, sim.output)
	if _, err := os.Stat(filepath.Join(dir, "exchangesim.env")); err != nil {
		t.Fatal(err)
	}
	connectAndRead(t, base, "my-app", secret, "readme-user", sim.output)
	sim.stop(syscall.SIGTERM)
	if strings.Contains(sim.output(), secret) {
		t.Error("the server's output holds the API secret")
	}
}
