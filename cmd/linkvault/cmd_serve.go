package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) (retErr error) {
	var u strings.Builder
	u.WriteString("Usage: linkvault serve [--config FILE]\n\nRuns the server: REST API and Link UI on the listen address, metrics and health on the\nadmin address, the refresh engine and webhook delivery. It migrates the schema on start.\n\nEnvironment variables:\n")
	for _, v := range config.EnvVars() {
		fmt.Fprintf(&u, "  %-48s %s\n", v.Name, v.Description)
	}
	fs := newFlags("serve", u.String(), stdout)
	cfg, err := parseConfig(fs, args, lookup)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, a)
	// A key file whose versions do not open the stored data keys (a lost line, another
	// deployment's file, a version number reused) would answer every credential use with
	// an error; refuse to start instead, as a running server refuses such a file on reload.
	if err := a.Keyring.CheckMaster(ctx, a.Keyring.Master()); err != nil {
		return fmt.Errorf("the master key file does not open the stored data keys: %w; restore the key file that wrapped them (docs/operations.md, \"Key rotation runbook\")", err)
	}
	log.Info("linkvault serving", "addr", a.HTTP.Addr(), "public_url", a.URL, "database", cfg.Database.Driver, "refresh_engine", cfg.Refresh.Enabled)
	fmt.Fprintf(stdout, "linkvault listening on %s\n", a.HTTP.Addr())
	if a.AdminURL != "" {
		log.Info("admin listener (metrics, health)", "addr", a.HTTP.AdminAddr(), "pprof", cfg.AdminPprof)
		fmt.Fprintf(stdout, "linkvault admin listening on %s\n", a.HTTP.AdminAddr())
	}
	return a.Run(ctx)
}
