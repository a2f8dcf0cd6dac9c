package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"strings"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) (retErr error) {
	var u strings.Builder
	u.WriteString("Usage: linkvault serve [--config FILE]\n\nRuns the server: REST API and Link UI on the listen address, metrics and health on the\nadmin address, the refresh engine and webhook delivery. It migrates the schema on start.\n\nEnvironment variables (an empty value counts as unset):\n")
	for _, v := range config.EnvVars() {
		desc := v.Description
		if v.Default != "" {
			desc += " (default " + v.Default + ")"
		}
		fmt.Fprintf(&u, "  %-48s %s\n", v.Name, desc)
	}
	fs := newFlags("serve", u.String(), stdout)
	cfg, err := parseConfig(fs, args, lookup)
	if err != nil {
		return err
	}
	if err := checkTLSFiles(cfg.TLS); err != nil {
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

// checkTLSFiles loads the configured certificate and key once before anything starts,
// so that a missing or malformed file stops serve with the settings to fix, instead of
// failing the listener after serve said it was listening.
func checkTLSFiles(t config.TLS) error {
	if !t.Enabled() {
		return nil
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		return fmt.Errorf("configuration: %sTLS_CERT_FILE (%s) and %sTLS_KEY_FILE (%s) do not load as a certificate and its key: %v",
			config.EnvPrefix, t.CertFile, config.EnvPrefix, t.KeyFile, err)
	}
	return nil
}
