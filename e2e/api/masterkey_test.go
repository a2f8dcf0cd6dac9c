package api_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
)

// TestReadableMasterKeyFileIsRefused is issue 15, failure 6 (a 0644 master key file was
// accepted silently): every command that loads the master key refuses a key file its
// group or other users can read, says how to fix it, and changes nothing; the explicit
// override (LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE) or chmod 600 lets it start.
func TestReadableMasterKeyFileIsRefused(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	bin := e2etest.Binary(t)
	dir := t.TempDir()
	keyFile, _ := envelopetest.WriteMasterKeyFile(t, dir)
	base := append(os.Environ(),
		"LINKVAULT_DATABASE_DRIVER=sqlite",
		"LINKVAULT_SQLITE_PATH="+filepath.Join(dir, "linkvault.db"),
		"LINKVAULT_MASTER_KEY_FILE="+keyFile,
		"LINKVAULT_LISTEN_ADDR=127.0.0.1:0",
		"LINKVAULT_ADMIN_ADDR=127.0.0.1:0",
		"LINKVAULT_REFRESH_ENABLED=false",
	)
	runCmd := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := runCmd(base, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err := runCmd(base, "clients", "create", "--id", "shop"); err != nil {
		t.Fatalf("clients create: %v\n%s", err, out)
	}

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(keyFile, mode); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(keyFile)
		for _, args := range [][]string{{"serve"}, {"keys", "rotate"}, {"webhooks", "set-url", "--client", "shop", "--url", "https://example.com/hook"}} {
			out, err := runServeOrCmd(t, bin, base, args...)
			if err == nil {
				t.Errorf("mode %04o: linkvault %s ran, want it refused\n%s", mode, strings.Join(args, " "), out)
				continue
			}
			for _, want := range []string{keyFile, "chmod 600", "LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE"} {
				if !strings.Contains(out, want) {
					t.Errorf("mode %04o: linkvault %s: the error does not mention %q:\n%s", mode, strings.Join(args, " "), want, out)
				}
			}
		}
		if after, _ := os.ReadFile(keyFile); !bytes.Equal(before, after) {
			t.Fatalf("mode %04o: a refused command changed the key file", mode)
		}
	}

	// demo refuses a readable key file in its data directory too.
	demoDir := filepath.Join(dir, "demo")
	if err := os.MkdirAll(demoDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyText, _ := envelopetest.MasterKeyText()
	if err := os.WriteFile(filepath.Join(demoDir, "linkvault.key"), []byte(keyText), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runServeOrCmd(t, bin, os.Environ(), "demo", "--dir", demoDir, "--addr", "127.0.0.1:0", "--app-addr", "127.0.0.1:0"); err == nil || !strings.Contains(out, "chmod 600") {
		t.Errorf("demo with a 0644 key file: %v, want it refused\n%s", err, out)
	}

	// The explicit override, then owner-only permissions.
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	override := append(append([]string(nil), base...), "LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE=true")
	if out, err := runServeOrCmd(t, bin, override, "serve"); err != nil {
		t.Errorf("serve with the override: %v\n%s", err, out)
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runServeOrCmd(t, bin, base, "serve"); err != nil {
		t.Errorf("serve with mode 0600: %v\n%s", err, out)
	}
	if out, err := runCmd(base, "keys", "rotate"); err != nil {
		t.Errorf("keys rotate with mode 0600: %v\n%s", err, out)
	}
}

var listeningLine = regexp.MustCompile(`listening on|Open http`)

// runServeOrCmd runs the binary until it exits or, for a server, until it says it is
// listening (then stops it and reports success). It returns everything it printed.
func runServeOrCmd(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var out strings.Builder // written by the scanner until scanned is closed
	listening := make(chan struct{}, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if listeningLine.MatchString(sc.Text()) {
				select {
				case listening <- struct{}{}:
				default:
				}
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-listening:
		_ = cmd.Process.Signal(os.Interrupt)
		<-done //nolint:errcheck // the exit status after the interrupt is not what this test checks
		<-scanned
		return out.String(), nil
	case err := <-done:
		<-scanned
		return out.String(), err
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done //nolint:errcheck // killed: its exit status says only that
		<-scanned
		t.Fatalf("linkvault %s neither exited nor listened within 60s:\n%s", strings.Join(args, " "), out.String())
		return "", nil
	}
}
