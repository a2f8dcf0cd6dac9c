// Package bench is linkvault's load and scale benchmark harness. It measures the
// numbers of DESIGN.md ("Numbers to beat") against the real binary: servers run as
// separate `linkvault serve` processes configured only through LINKVAULT_* variables,
// the load generator is a closed-loop HTTP/1.1 client in this process, and the bare
// hello-world baseline is a third process measured by the same generator in the same
// run. Results go to docs/benchmarks.md.
//
// Run it as `linkvault bench <scenario>` or `go run ./bench/cmd/lvbench <scenario>`;
// `-h` lists the flags of each scenario. Every load loop is bounded in time and request
// count, and only loopback addresses are ever loaded.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Options says how the harness finds the programs it starts.
type Options struct {
	// LinkvaultBin is the linkvault binary to benchmark; empty builds ./cmd/linkvault
	// of the enclosing module with `go build` into the work directory.
	LinkvaultBin string
	// Self is the command line prefix that re-executes this harness (for example
	// [/usr/bin/linkvault bench]); the hello-world baseline runs as `Self... hello`.
	Self []string
	// Browser starts the headless browser of the link scenario; nil makes that
	// scenario fail with a pointer to lvbench (the server binary carries no driver).
	Browser NewBrowser
}

const usage = `linkvault benchmarks (results: docs/benchmarks.md)

Usage: bench <scenario> [flags]     (-h after a scenario lists its flags)

Scenarios:
  resolve   request throughput and latency over HTTP, next to a bare Go hello-world
            server in the same run: resolve (hot set cached, SQLite and PostgreSQL
            per request), holdings/get proxied to the simulated exchange next to the
            same call made directly, linktoken writes (SQLite, PostgreSQL)
  callgrind instructions per request (valgrind callgrind) of the same paths and of
            hello-world: a count that does not depend on the machine's load
  scale     N stored connections (default 1,000,000): database size per connection,
            server memory idle and under load, due-set claim time, cold start
  refresh   refresh engine throughput against the simulated exchange, SQLite and
            PostgreSQL, 1 and 3 replicas, double refreshes counted
  link      Link return-user flow in headless Chromium (openLink → account screen)
            and the size of the web SDK; needs lvbench (go run ./bench/cmd/lvbench)
  machine   print the machine facts the results are recorded with
  hello     (internal) run the hello-world baseline server
`

// ErrUsage is wrapped by Main's errors for a command line it cannot run (no or an unknown
// scenario, an unknown or malformed flag), which linkvault exits 2 for.
var ErrUsage = errors.New("usage error")

// Main runs a scenario. ctx ends the run early (servers are stopped either way). -h
// (after a scenario too) prints the usage to stdout and returns flag.ErrHelp.
func Main(ctx context.Context, opts Options, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: a scenario is required", ErrUsage)
	}
	switch args[0] {
	case "hello":
		return ServeHello(ctx, stdout)
	case "machine":
		m := Machine(ctx, defaultPostgresDSN())
		fmt.Fprint(stdout, m.Markdown())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	scenario, ok := scenarios[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown scenario %q", ErrUsage, args[0])
	}
	fs := &flagSet{FlagSet: flag.NewFlagSet(args[0], flag.ContinueOnError)}
	fs.SetOutput(io.Discard)
	c := &common{}
	fs.StringVar(&c.pgDSN, "pg-dsn", defaultPostgresDSN(), "PostgreSQL DSN (a fresh schema is created in it and dropped after); empty skips PostgreSQL")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a new temporary directory, removed after)")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.Float64Var(&c.quietCores, "quiet", 0.25, "before each measured run, wait until other processes use less than this many cores (0: do not check)")
	fs.DurationVar(&c.quietWait, "quiet-wait", 3*time.Minute, "longest wait for the machine to be quiet before measuring anyway (noted in the results)")
	run := scenario(fs, opts)
	if err := fs.parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return err
		}
		return fmt.Errorf("%w: %s: %v (-h after the scenario lists its flags)", ErrUsage, args[0], err)
	}
	h, cleanup, err := newHarness(ctx, opts, c, stdout, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	res, err := run(ctx, h)
	if err != nil {
		return err
	}
	if c.jsonOut != "" {
		b, err := json.MarshalIndent(struct {
			Scenario string       `json:"scenario"`
			Date     string       `json:"date"`
			Machine  MachineFacts `json:"machine"`
			Results  any          `json:"results"`
		}{args[0], time.Now().UTC().Format(time.RFC3339), h.machine, res}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runner runs a measuring scenario with the parameters its flags were parsed into.
type runner func(context.Context, *harness) (any, error)

// scenarios are the measuring scenarios by name: each declares its flags on fs and
// returns its run.
var scenarios = map[string]func(fs *flagSet, opts Options) runner{
	"resolve":   func(fs *flagSet, _ Options) runner { return bind(fs, (*ResolveParams).flags, RunResolve) },
	"scale":     func(fs *flagSet, _ Options) runner { return bind(fs, (*ScaleParams).flags, RunScale) },
	"refresh":   func(fs *flagSet, _ Options) runner { return bind(fs, (*RefreshParams).flags, RunRefresh) },
	"callgrind": func(fs *flagSet, _ Options) runner { return bind(fs, (*CallgrindParams).flags, RunCallgrind) },
	"link": func(fs *flagSet, opts Options) runner {
		return bind(fs, (*LinkParams).flags, func(ctx context.Context, h *harness, p LinkParams) (*LinkResults, error) {
			return RunLink(ctx, h, p, opts.Browser)
		})
	},
}

// bind declares a scenario's flags into new parameters P and returns the run that
// measures with them once they are parsed.
func bind[P, R any](fs *flagSet, declare func(*P, *flagSet), run func(context.Context, *harness, P) (R, error)) runner {
	p := new(P)
	declare(p, fs)
	return func(ctx context.Context, h *harness) (any, error) { return run(ctx, h, *p) }
}

// flagSet is a scenario's command line: its flags, and the comma-separated lists among
// them, split into their parameters by parse.
type flagSet struct {
	*flag.FlagSet
	lists []func()
}

// list declares a comma-separated list flag (shown in -h as the string flag it is);
// after parse, *dst holds its items.
func (fs *flagSet) list(dst *[]string, name, value, usage string) {
	s := fs.String(name, value, usage)
	fs.lists = append(fs.lists, func() { *dst = strings.Split(*s, ",") })
}

// parse parses args and splits the list flags.
func (fs *flagSet) parse(args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, split := range fs.lists {
		split()
	}
	return nil
}

// common are the flags every measuring scenario shares.
type common struct {
	pgDSN      string
	dir        string
	jsonOut    string
	quietCores float64
	quietWait  time.Duration
}

// harness is the state of one scenario run.
type harness struct {
	opts    Options
	c       *common
	out     io.Writer // results (markdown)
	log     io.Writer // progress
	dir     string
	bin     string // linkvault binary
	machine MachineFacts
	// startTimeout bounds a server's start (0: StartProc's default); longer under valgrind.
	startTimeout time.Duration
}

func defaultPostgresDSN() string {
	if v := os.Getenv("LINKVAULT_TEST_POSTGRES_DSN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func newHarness(ctx context.Context, opts Options, c *common, stdout, stderr io.Writer) (*harness, func(), error) {
	h := &harness{opts: opts, c: c, out: stdout, log: stderr}
	cleanup := func() {}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "linkvault-bench-")
		if err != nil {
			return nil, nil, err
		}
		h.dir = d
		cleanup = func() { _ = os.RemoveAll(d) }
	} else {
		if err := os.MkdirAll(c.dir, 0o700); err != nil {
			return nil, nil, err
		}
		h.dir = c.dir
	}
	h.bin = opts.LinkvaultBin
	if h.bin == "" {
		bin, err := buildLinkvault(ctx, h.dir)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		h.bin = bin
	}
	h.machine = Machine(ctx, c.pgDSN)
	fmt.Fprint(h.out, h.machine.Markdown())
	return h, cleanup, nil
}

// buildLinkvault builds ./cmd/linkvault of the enclosing module into dir.
func buildLinkvault(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", errors.New("bench: not inside the linkvault module; pass the binary (or run `linkvault bench`)")
	}
	bin := filepath.Join(dir, "linkvault")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/linkvault")
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build ./cmd/linkvault: %v\n%s", err, b)
	}
	return bin, nil
}

// quiet waits for the machine to be quiet before a measured run and logs what it saw.
func (h *harness) quiet(ctx context.Context) float64 {
	return WaitQuiet(ctx, h.c.quietCores, h.c.quietWait, h.log)
}

// logf writes a progress line.
func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, format+"\n", args...)
}

// startLinkvault starts `linkvault serve` on db with the given extra variables.
func (h *harness) startLinkvault(ctx context.Context, name string, db *DB, extra map[string]string) (*Proc, error) {
	return h.startLinkvaultWith(ctx, name, db, extra, identity)
}

// startLinkvaultWith is startLinkvault with the command wrapped by launch (valgrind).
func (h *harness) startLinkvaultWith(ctx context.Context, name string, db *DB, extra map[string]string, launch launcher) (*Proc, error) {
	env := map[string]string{
		"LINKVAULT_LISTEN_ADDR":     "127.0.0.1:0",
		"LINKVAULT_ADMIN_ADDR":      "127.0.0.1:0",
		"LINKVAULT_LOG_LEVEL":       "warn",
		"LINKVAULT_REFRESH_ENABLED": "false",
	}
	for k, v := range db.Env() {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	path, args := launch(h.bin, "serve")
	return StartProc(ctx, ProcSpec{
		Name: name, Path: path, Args: args, Env: env,
		LogPath: filepath.Join(h.dir, name+".log"), ReadyPath: "/readyz", Admin: true, Timeout: h.startTimeout,
	})
}

// newDB creates a fresh database of the given driver with its own master key.
func (h *harness) newDB(ctx context.Context, driver, name string) (*DB, error) {
	dir := filepath.Join(h.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := filepath.Join(dir, "master.key")
	if err := WriteMasterKeyFile(key); err != nil {
		return nil, err
	}
	switch driver {
	case DriverSQLite:
		return NewSQLiteDB(dir, key), nil
	case DriverPostgres:
		if h.c.pgDSN == "" {
			return nil, errors.New("bench: PostgreSQL disabled (-pg-dsn empty)")
		}
		return NewPostgresDB(ctx, h.c.pgDSN, key)
	}
	return nil, fmt.Errorf("bench: unknown driver %q", driver)
}
