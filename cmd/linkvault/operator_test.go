package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/internal/config"
)

// TestServeRefusesUnloadableTLSFiles: a TLS certificate or key that is missing or not
// PEM stops serve before it listens, with an error naming LINKVAULT_TLS_CERT_FILE and
// LINKVAULT_TLS_KEY_FILE. serve once printed "linkvault listening on", started its
// workers, and then failed with a bare "open /path: no such file or directory".
func TestServeRefusesUnloadableTLSFiles(t *testing.T) {
	e, _ := newShopEnv(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][2]string{
		"missing": {filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")},
		"not PEM": {garbage, garbage},
	} {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{
				"LINKVAULT_LISTEN_ADDR":   "127.0.0.1:0",
				"LINKVAULT_ADMIN_ADDR":    "off",
				"LINKVAULT_TLS_CERT_FILE": files[0],
				"LINKVAULT_TLS_KEY_FILE":  files[1],
			}
			for k, v := range e.vars {
				vars[k] = v
			}
			code, out, errOut := runCLI(t, vars, "serve")
			if code != exitFailure || !strings.Contains(errOut, "LINKVAULT_TLS_CERT_FILE") || !strings.Contains(errOut, "LINKVAULT_TLS_KEY_FILE") {
				t.Errorf("serve: exit %d, stderr %q; want exit %d naming both TLS settings", code, errOut, exitFailure)
			}
			if strings.Contains(out, "listening") {
				t.Errorf("serve said it was listening with unloadable TLS files: %q", out)
			}
		})
	}
}

// TestBackupNamesTheMasterKeyGivenAsAValue: backup's reminder to keep the master key
// apart names LINKVAULT_MASTER_KEY when the key is given as a value (it printed "()").
func TestBackupNamesTheMasterKeyGivenAsAValue(t *testing.T) {
	e, _ := newShopEnv(t)
	key, err := os.ReadFile(e.vars["LINKVAULT_MASTER_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"LINKVAULT_SQLITE_PATH": e.vars["LINKVAULT_SQLITE_PATH"], "LINKVAULT_MASTER_KEY": string(key)}
	code, out, errOut := runCLI(t, vars, "backup", "--out", filepath.Join(t.TempDir(), "copy.db"))
	if code != 0 || !strings.Contains(out, "master key (LINKVAULT_MASTER_KEY)") {
		t.Fatalf("backup: exit %d, stdout %q, stderr %q; want the reminder naming LINKVAULT_MASTER_KEY", code, out, errOut)
	}
}

// TestServeHelpShowsEveryDefault: `serve -h`, which README and the chart's values point
// operators to for the variables, shows each variable's default next to it (it listed the
// descriptions only; the defaults were in config.go's comments), and no value of a secret.
func TestServeHelpShowsEveryDefault(t *testing.T) {
	code, out, _ := runCLI(t, nil, "serve", "-h")
	if code != 0 {
		t.Fatalf("serve -h: exit %d", code)
	}
	lines := make(map[string]string)
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], config.EnvPrefix) {
			lines[f[0]] = l
		}
	}
	for _, v := range config.EnvVars() {
		l, ok := lines[v.Name]
		switch {
		case !ok:
			t.Errorf("serve -h does not list %s", v.Name)
		case v.Secret && strings.Contains(l, "(default"):
			t.Errorf("serve -h shows a default of the secret %s: %q", v.Name, l)
		case v.Default != "" && !strings.HasSuffix(l, "(default "+v.Default+")"):
			t.Errorf("serve -h line of %s lacks its default %q: %q", v.Name, v.Default, l)
		}
	}
	for _, want := range []string{"LINKVAULT_HTTP_SHUTDOWN_GRACE", "LINKVAULT_RETENTION_AUDIT"} {
		if !strings.Contains(lines[want], "(default ") {
			t.Errorf("serve -h line of %s: %q", want, lines[want])
		}
	}
}

// TestBenchFollowsTheConventions: `linkvault bench` keeps the command line's conventions
// (docs/operations.md, "Commands"): no or an unknown scenario, an unknown flag and a
// malformed value are usage errors (exit 2; they exited 1), and -h after a scenario
// prints its flags on stdout (it printed them on stderr) and exits 0.
func TestBenchFollowsTheConventions(t *testing.T) {
	for _, args := range [][]string{
		{"bench"}, {"bench", "nope"}, {"bench", "resolve", "--no-such-flag"}, {"bench", "scale", "-duration", "soon"},
	} {
		if code, out, errOut := runCLI(t, nil, args...); code != exitUsage || out != "" || !strings.Contains(errOut, "linkvault: bench: ") {
			t.Errorf("linkvault %s: exit %d, stdout %q, stderr %q; want exit %d and the reason on stderr", strings.Join(args, " "), code, out, errOut, exitUsage)
		}
	}
	for _, scenario := range []string{"resolve", "callgrind", "scale", "refresh", "link"} {
		code, out, errOut := runCLI(t, nil, "bench", scenario, "-h")
		if code != 0 || !strings.Contains(out, "Usage of "+scenario) || !strings.Contains(out, "-pg-dsn") || errOut != "" {
			t.Errorf("linkvault bench %s -h: exit %d, stdout %q, stderr %q; want its flags on stdout and exit 0", scenario, code, out, errOut)
		}
	}
}

// TestDemoRefusesBadAddressesFirst: a malformed or shared --addr, --app-addr or
// --admin-addr is a usage error naming the flag, before the demo creates its directory.
// It exited 1 naming LINKVAULT_LISTEN_ADDR, a variable the demo does not read, after
// creating --dir.
func TestDemoRefusesBadAddressesFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "foo"}, "--addr must be host:port"},
		{[]string{"--app-addr", "127.0.0.1:70000"}, "--app-addr must be host:port"},
		{[]string{"--admin-addr", "localhost"}, "--admin-addr must be host:port"},
		{[]string{"--addr", "127.0.0.1:18080", "--admin-addr", "127.0.0.1:18080"}, "--addr and --admin-addr are both"},
		{[]string{"--addr", "127.0.0.1:18080", "--app-addr", "127.0.0.1:18080"}, "--addr and --app-addr are both"},
	} {
		args := append([]string{"demo", "--dir", dir}, tc.args...)
		code, _, errOut := runCLI(t, nil, args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("linkvault %s: exit %d, %q; want exit %d mentioning %q", strings.Join(args, " "), code, errOut, exitUsage, tc.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("linkvault %s created --dir (stat: %v)", strings.Join(args, " "), err)
		}
	}
}

// TestBusyAddressNamesItsSetting: an address already in use names what sets it: serve's
// public listener LINKVAULT_LISTEN_ADDR (as its admin listener named
// LINKVAULT_ADMIN_ADDR; it said only "bind: address already in use"), and demo's admin
// listener the --admin-addr flag (it named LINKVAULT_ADMIN_ADDR, which demo does not read).
func TestBusyAddressNamesItsSetting(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	e, _ := newShopEnv(t)
	vars := map[string]string{"LINKVAULT_LISTEN_ADDR": addr, "LINKVAULT_ADMIN_ADDR": "off"}
	for k, v := range e.vars {
		vars[k] = v
	}
	if code, out, errOut := runCLI(t, vars, "serve"); code != exitFailure || !strings.Contains(errOut, "LINKVAULT_LISTEN_ADDR") || strings.Contains(out, "listening") {
		t.Errorf("serve on a busy address: exit %d, stdout %q, stderr %q; want exit %d naming LINKVAULT_LISTEN_ADDR", code, out, errOut, exitFailure)
	}

	args := []string{"demo", "--dir", filepath.Join(t.TempDir(), "demo"), "--addr", "127.0.0.1:0", "--app-addr", "127.0.0.1:0", "--admin-addr", addr}
	if code, _, errOut := runCLI(t, nil, args...); code != exitFailure || !strings.Contains(errOut, "--admin-addr") || strings.Contains(errOut, "LINKVAULT_ADMIN_ADDR") {
		t.Errorf("demo with a busy admin address: exit %d, stderr %q; want exit %d naming --admin-addr", code, errOut, exitFailure)
	}
}

// TestGroupUsageNamesConfig: each command group's -h says its subcommands take --config
// (webhooks' did not) and how to get a subcommand's flags.
func TestGroupUsageNamesConfig(t *testing.T) {
	for _, group := range []string{"clients", "keys", "webhooks"} {
		code, out, _ := runCLI(t, nil, group, "-h")
		if code != 0 || !strings.Contains(out, "--config FILE") || !strings.Contains(out, "linkvault "+group+" SUBCOMMAND -h") {
			t.Errorf("linkvault %s -h: exit %d, %q; want --config and SUBCOMMAND -h mentioned", group, code, out)
		}
	}
}
