package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault/internal/testdb"
)

// commandPaths is every command and subcommand of the binary (main.go's usage and the
// subcommand tables); TestCommandConventions walks each.
var commandPaths = [][]string{
	{"init"}, {"serve"}, {"demo"}, {"migrate"},
	{"clients"}, {"clients", "create"}, {"clients", "update"}, {"clients", "list"},
	{"keys"}, {"keys", "create"}, {"keys", "list"}, {"keys", "revoke"}, {"keys", "rotate"}, {"keys", "reseal"}, {"keys", "upgrade-verifiers"},
	{"webhooks"}, {"webhooks", "set-url"}, {"webhooks", "rotate-secret"}, {"webhooks", "deliveries"}, {"webhooks", "prune"},
	{"audit"}, {"bench"}, {"backup"}, {"exchangesim"},
}

// runCLI runs the command line in-process as main does and returns its exit status.
func runCLI(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		errOut.WriteString("linkvault: " + errorText(err) + "\n")
	}
	return exitCode(err), out.String(), errOut.String()
}

// TestCommandConventions: for every command and subcommand, -h (and --help) prints its
// usage on stdout and exits 0, an unknown flag is a usage error (exit 2), and neither
// creates a database or a key file; --version prints the version.
func TestCommandConventions(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{
		"LINKVAULT_SQLITE_PATH":     filepath.Join(dir, "lv.db"),
		"LINKVAULT_MASTER_KEY_FILE": filepath.Join(dir, "master.key"),
	}
	for _, path := range commandPaths {
		name := strings.Join(path, " ")
		t.Run(name, func(t *testing.T) {
			for _, h := range []string{"-h", "--help"} {
				code, out, errOut := runCLI(t, vars, append(append([]string{}, path...), h)...)
				if code != 0 || !strings.Contains(out, "Usage") {
					t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want the usage on stdout and exit 0", name, h, code, out, errOut)
				}
			}
			code, _, errOut := runCLI(t, vars, append(append([]string{}, path...), "--no-such-flag")...)
			if code != exitUsage {
				t.Errorf("%s --no-such-flag: exit %d (%s), want %d", name, code, errOut, exitUsage)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("help and usage errors left files behind: %v", entries)
	}
	code, out, _ := runCLI(t, vars, "--version")
	if code != 0 || !strings.HasPrefix(out, "linkvault ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

// TestFailuresExitOneAndCreateNothing: a command that cannot do its job exits 1 with a
// message saying what to do, and leaves no database behind; a usage error exits 2.
func TestFailuresExitOneAndCreateNothing(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{
		"LINKVAULT_SQLITE_PATH":     filepath.Join(dir, "lv.db"),
		"LINKVAULT_MASTER_KEY_FILE": filepath.Join(dir, "master.key"),
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"clients", "list"}, 1, "linkvault migrate"},
		{[]string{"clients", "create", "--id", "shop"}, 1, "linkvault migrate"},
		{[]string{"keys", "list", "--client", "shop"}, 1, "linkvault migrate"},
		{[]string{"keys", "create", "--client", "shop", "--permission", "read"}, 1, "linkvault init"},
		{[]string{"webhooks", "set-url", "--client", "shop", "--url", "https://example.com/h"}, 1, "linkvault init"},
		{[]string{"webhooks", "deliveries", "--client", "shop"}, 1, "linkvault init"},
		{[]string{"webhooks", "prune", "--older-than", "720h"}, 1, "linkvault migrate"},
		{[]string{"audit", "--client", "shop"}, 1, "linkvault migrate"},
		{[]string{"backup", "--out", filepath.Join(dir, "copy.db")}, 1, "linkvault migrate"},
		{[]string{"keys", "rotate"}, 1, "linkvault"},
		{[]string{"serve"}, 1, "linkvault init"},
		{[]string{"keys", "create", "--client", "shop"}, 2, "--permission is required"},
		{[]string{"keys", "create", "--client", "shop", "--permission", "admin"}, 2, "permission"},
		{[]string{"webhooks", "set-url", "--url", "https://example.com/h"}, 2, "--client is required"},
		{[]string{"audit"}, 2, "--client is required"},
		{[]string{"backup"}, 2, "--out is required"},
		{[]string{"clients"}, 2, "subcommand is required"},
		{[]string{"keys", "frobnicate"}, 2, "unknown subcommand"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"migrate", "extra"}, 2, "unexpected argument"},
	} {
		code, _, errOut := runCLI(t, vars, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("linkvault %s: exit %d, %q; want exit %d mentioning %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("failed commands left files behind: %v", entries)
	}
	// A migrate that cannot create its database leaves nothing either.
	bad := map[string]string{"LINKVAULT_SQLITE_PATH": filepath.Join(dir, "missing-dir", "lv.db")}
	if code, _, errOut := runCLI(t, bad, "migrate"); code != 1 {
		t.Errorf("migrate into a missing directory: exit %d (%s), want 1", code, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed migrate left files behind: %v", entries)
	}
}

// TestJSONOutput: every list and create command prints JSON with --json.
func TestJSONOutput(t *testing.T) {
	e := newCLIEnv(t)
	e.mustRun("migrate")
	var c struct{ ID, Name string }
	if err := json.Unmarshal([]byte(e.mustRun("clients", "create", "--id", "shop", "--name", "Shop", "--json")), &c); err != nil || c.ID != "shop" || c.Name != "Shop" {
		t.Fatalf("clients create --json: %+v %v", c, err)
	}
	var cs []struct{ ID string }
	if err := json.Unmarshal([]byte(e.mustRun("clients", "list", "--json")), &cs); err != nil || len(cs) != 1 || cs[0].ID != "shop" {
		t.Fatalf("clients list --json: %+v %v", cs, err)
	}
	var k struct{ ClientID, KeyID, Permission, Secret string }
	if err := json.Unmarshal([]byte(e.mustRun("keys", "create", "--client", "shop", "--permission", "read", "--json")), &k); err != nil ||
		k.ClientID != "shop" || k.KeyID == "" || k.Permission != "read" || k.Secret == "" {
		t.Fatalf("keys create --json: %+v %v", k, err)
	}
	var ks []map[string]any
	if err := json.Unmarshal([]byte(e.mustRun("keys", "list", "--client", "shop", "--json")), &ks); err != nil || len(ks) != 1 || ks[0]["keyId"] != k.KeyID {
		t.Fatalf("keys list --json: %+v %v", ks, err)
	}
	if _, ok := ks[0]["secret"]; ok {
		t.Fatal("keys list --json shows a secret")
	}
	var ds []any
	if err := json.Unmarshal([]byte(e.mustRun("webhooks", "deliveries", "--client", "shop", "--json")), &ds); err != nil || ds == nil {
		t.Fatalf("webhooks deliveries --json: %v %v", ds, err)
	}
	if out := e.mustRun("audit", "--client", "shop", "--json"); strings.TrimSpace(out) != "" {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("audit --json line %q", line)
			}
		}
	}
}

// TestPostgresFailuresAreDistinct: an unreachable server, refused credentials, a
// missing database and a failed migration each say which it is (and never print the
// connection string's password).
func TestPostgresFailuresAreDistinct(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(u *url.URL)) string {
		c := *u
		edit(&c)
		return c.String()
	}
	// A schema where the first migration cannot run: its first table already exists,
	// with other columns.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `CREATE TABLE clients (unrelated int)`); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(context.Background())

	keyFile := filepath.Join(t.TempDir(), "master.key")
	if code, _, errOut := runCLI(t, map[string]string{"LINKVAULT_MASTER_KEY_FILE": keyFile}, "init"); code != 0 {
		t.Fatal(errOut)
	}
	for _, tc := range []struct {
		name, dsn string
		args      []string
		want      string
	}{
		{"unreachable", with(func(u *url.URL) { u.Host = "127.0.0.1:1" }), []string{"clients", "list"}, "cannot reach the PostgreSQL server at 127.0.0.1:1"},
		{"bad credentials", with(func(u *url.URL) { u.User = url.UserPassword("no_such_role_lv", "hunter2-secret") }), []string{"clients", "list"}, "PostgreSQL refused the credentials"},
		{"missing database", with(func(u *url.URL) { u.Path = "/no_such_database_lv" }), []string{"clients", "list"}, `the PostgreSQL database does not exist: no database "no_such_database_lv"`},
		{"failed migration", dsn, []string{"migrate"}, "migration failed"},
		{"no schema yet", dsn, []string{"clients", "list"}, "no linkvault schema yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"LINKVAULT_DATABASE_DRIVER": "postgres", "LINKVAULT_DATABASE_URL": tc.dsn, "LINKVAULT_MASTER_KEY_FILE": keyFile}
			code, _, errOut := runCLI(t, vars, tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, %q; want exit 1 mentioning %q", code, errOut, tc.want)
			}
			if strings.Contains(errOut, "hunter2-secret") {
				t.Fatal("the error prints the password")
			}
		})
	}
}

// TestUsageAndKeyFileNameEveryCommand: the top-level usage lists every subcommand of
// commandPaths, and every "linkvault ..." command the key file written by init tells
// its reader to run exists (the header once named a "keys add" that never did).
func TestUsageAndKeyFileNameEveryCommand(t *testing.T) {
	for _, path := range commandPaths {
		if len(path) != 2 {
			continue
		}
		var line string
		for _, l := range strings.Split(usage, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "linkvault "+path[0]+" ") {
				line = l
			}
		}
		if !strings.Contains(line, path[1]) {
			t.Errorf("the usage line of %q (%q) does not list %q", path[0], line, path[1])
		}
	}

	dir := t.TempDir()
	vars := map[string]string{
		"LINKVAULT_SQLITE_PATH":     filepath.Join(dir, "lv.db"),
		"LINKVAULT_MASTER_KEY_FILE": filepath.Join(dir, "master.key"),
	}
	if code, _, errOut := runCLI(t, vars, "init"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	key, err := os.ReadFile(vars["LINKVAULT_MASTER_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`"linkvault ([^"]+)"`).FindAllStringSubmatch(string(key), -1)
	if len(named) == 0 {
		t.Fatalf("the key file names no command to run:\n%s", key)
	}
	for _, m := range named {
		args := append(strings.Fields(m[1]), "-h")
		if code, out, errOut := runCLI(t, vars, args...); code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("the key file says to run %q: %v exits %d (%s)", m[0], args, code, errOut)
		}
	}
}

// TestUnknownClientFailsPlainly: every command naming a client that does not exist exits 1
// saying so in plain words (keys list once printed an empty table and exited 0), without
// the API's "status/errorType:" prefix.
func TestUnknownClientFailsPlainly(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{
		"LINKVAULT_SQLITE_PATH":     filepath.Join(dir, "lv.db"),
		"LINKVAULT_MASTER_KEY_FILE": filepath.Join(dir, "master.key"),
	}
	for _, args := range [][]string{{"init"}, {"migrate"}, {"clients", "create", "--id", "shop"}} {
		if code, _, errOut := runCLI(t, vars, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	if code, out, errOut := runCLI(t, vars, "keys", "list", "--client", "shop"); code != 0 {
		t.Fatalf("keys list of a client without keys: exit %d, %q %q; want its empty list", code, out, errOut)
	}
	for _, args := range [][]string{
		{"keys", "list", "--client", "nobody"},
		{"keys", "list", "--client", "nobody", "--json"},
		{"keys", "create", "--client", "nobody", "--permission", "read"},
		{"keys", "revoke", "--client", "nobody", "--key", "0123456789abcdef"},
		{"webhooks", "set-url", "--client", "nobody", "--url", "https://example.com/h"},
		{"webhooks", "deliveries", "--client", "nobody"},
	} {
		code, out, errOut := runCLI(t, vars, args...)
		if code != 1 || !strings.Contains(errOut, "not found") || strings.Contains(errOut, "notFound") || out != "" {
			t.Errorf("linkvault %s: exit %d, stdout %q, stderr %q; want exit 1 and a plain \"not found\"", strings.Join(args, " "), code, out, errOut)
		}
	}
}
