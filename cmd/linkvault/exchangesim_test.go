package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestExchangeSimEnvFileLivesWithTheSimulators: the --env-file that README's
// "Trying it without exchange accounts" waits for (until [ -s exchangesim.env ]) and
// sources describes exchanges that listen. A file left by an earlier run is removed
// before the exchanges start (even when they fail to), and the file is removed when they
// stop; it was left behind, so a second run of the README block sourced the first run's
// dead ports at once. -h names the flag's argument FILE (it showed "set -a; . FILE").
func TestExchangeSimEnvFileLivesWithTheSimulators(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "exchangesim.env")
	stale := "LINKVAULT_COINBASE_API_BASE_URL=http://127.0.0.1:1\n"

	// A start that fails leaves no earlier run's file behind.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := os.WriteFile(envFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	if code, _, errOut := runCLI(t, nil, "exchangesim", "--env-file", envFile, "--coinbase-port", port); code != exitFailure {
		t.Fatalf("exchangesim on a busy port: exit %d (%s), want %d", code, errOut, exitFailure)
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Fatalf("after a failed start the earlier run's env file is still there (stat: %v)", err)
	}

	// A run writes the file while its exchanges listen and removes it when they stop.
	if err := os.WriteFile(envFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	data, stop := startExchangeSim(t, envFile, stale)
	vars := parseEnvFile(t, data)
	base := vars["LINKVAULT_COINBASE_API_BASE_URL"]
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("env file: LINKVAULT_COINBASE_API_BASE_URL=%q", base)
	}
	resp, err := http.Get(base + "/_sim/stats")
	if err != nil {
		t.Fatalf("the exchange the env file names does not answer: %v", err)
	}
	_ = resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("exchangesim: %v", err)
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Fatalf("the env file outlives the exchanges it names (stat: %v)", err)
	}

	code, out, _ := runCLI(t, nil, "exchangesim", "-h")
	if code != 0 || !strings.Contains(out, "-env-file FILE\n") {
		t.Fatalf("exchangesim -h: exit %d, the -env-file line does not name FILE:\n%s", code, out)
	}
}

// startExchangeSim runs `linkvault exchangesim --env-file envFile args...` until the
// file holds something else than before, and returns that content and a stop function.
func startExchangeSim(t *testing.T, envFile, before string, args ...string) ([]byte, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		var out, errOut bytes.Buffer
		done <- run(ctx, append([]string{"exchangesim", "--env-file", envFile}, args...), &out, &errOut, func(string) (string, bool) { return "", false })
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if data, err := os.ReadFile(envFile); err == nil && string(data) != before {
			var once sync.Once
			var runErr error
			return data, func() error { once.Do(func() { cancel(); runErr = <-done }); return runErr }
		}
		if time.Now().After(deadline) {
			t.Fatal("exchangesim wrote no env file of its own")
		}
		select {
		case err := <-done:
			t.Fatalf("exchangesim returned early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestExchangeSimEnvFileQuotesValues: a -client-secret with a space or a $ reaches
// `set -a; . FILE` intact (it was written bare: the shell ran the rest as a command and
// kept the part before the space), and one the file cannot carry is refused.
func TestExchangeSimEnvFileQuotesValues(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "exchangesim.env")
	secret := "sim secret $HOME;`x`"
	_, stop := startExchangeSim(t, envFile, "", "--client-secret", secret, "--client-id", "lv demo")
	defer func() { _ = stop() }()
	out, err := exec.Command("sh", "-c", `set -a; . "$1" >/dev/null 2>&1; set +a; printf '%s|%s' "$LINKVAULT_COINBASE_CLIENT_SECRET" "$LINKVAULT_UPHOLD_CLIENT_ID"`, "sh", envFile).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), secret+"|lv demo"; got != want {
		t.Fatalf("the shell read %q from the env file, want %q", got, want)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "exchangesim", "--env-file", envFile, "--client-secret", "it's")
	if code != exitFailure || !strings.Contains(errOut, "LINKVAULT_COINBASE_CLIENT_SECRET") || strings.Contains(errOut, "it's") {
		t.Fatalf("exchangesim with a quote in the secret: exit %d, %q; want exit %d naming the variable, not the value", code, errOut, exitFailure)
	}
}

// parseEnvFile reads KEY=value lines, skipping comments.
func parseEnvFile(t *testing.T, data []byte) map[string]string {
	t.Helper()
	vars := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env file line %q is not KEY=value", line)
		}
		vars[k] = v
	}
	return vars
}
