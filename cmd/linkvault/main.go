// Command linkvault is the managed-token service: one binary with the server, the
// interactive demo, database migrations, client and key administration, and the
// simulated exchanges. It parses flags and configuration and hands over to
// internal/app, which wires the services together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/linkvault/linkvault/internal/app"
)

const usage = `linkvault — managed tokens for exchange connections

Usage:
  linkvault --version                        print the version
  linkvault init         [--config FILE]     create the master key file (mode 0600; never overwrites)
  linkvault serve        [--config FILE]     run the server (REST API, Link UI, refresh engine)
  linkvault demo         [--dir DIR]         server + SQLite + simulated exchanges + example app
  linkvault migrate      [--config FILE]     create or upgrade the database schema
  linkvault clients      create|update|list ...   manage client applications (update: name, logo, allowed origins)
  linkvault keys         create|list|revoke|rotate|reseal|upgrade-verifiers ...   manage API keys and the master key
  linkvault webhooks     set-url|rotate-secret|deliveries|prune ...   a client's webhook settings and delivery log
  linkvault audit        --client ID [...]   the trail of every use of a client's tokenIds
  linkvault bench        [flags]             load and scale benchmarks (see docs/benchmarks.md)
  linkvault backup       --out FILE          consistent copy of the SQLite database (online)
  linkvault exchangesim  [flags]             run the simulated exchanges standalone

Configuration: an optional JSON file (--config) and LINKVAULT_* environment variables;
every secret has a *_FILE twin. "linkvault serve -h" lists the variables, and
"linkvault COMMAND -h" describes each command. Exit status: 0 success, 1 failure,
2 usage error. List and create commands take --json.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "linkvault:", errorText(err))
	}
	os.Exit(exitCode(err))
}

// env looks environment variables up; tests pass their own.
type env func(string) (string, bool)

// command runs one linkvault command with its arguments (after the command's name).
type command func(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) error

func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErrorf("a command is required")
	}
	cmd, rest := args[0], args[1:]
	commands := map[string]command{
		"init": runInit, "serve": runServe, "demo": runDemo, "migrate": runMigrate,
		"clients": runClients, "keys": runKeys, "webhooks": runWebhooksCommand, "audit": runAuditCommand,
		"bench": runBench, "backup": runBackup, "exchangesim": runExchangeSim,
	}
	if c, ok := commands[cmd]; ok {
		return c(ctx, rest, stdout, stderr, lookup)
	}
	switch cmd {
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "linkvault %s\n", app.Version())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageErrorf("unknown command %q", cmd)
	}
}
