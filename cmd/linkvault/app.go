package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/telemetry"
)

// loadConfig loads and validates the configuration.
func loadConfig(path string, lookup env) (*config.Config, error) {
	cfg, err := config.Load(path, lookup, os.ReadFile)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The standard OpenTelemetry variables turn tracing on (or off) too.
	cfg.Tracing.Enabled = telemetry.Enabled(cfg.Tracing.Enabled, lookup)
	return cfg, nil
}

// configFlag registers the shared --config flag.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "JSON configuration file (environment variables override it)")
}

// withStore opens the configured store for a subcommand whose own flags are parsed by
// fn: the configuration comes from LINKVAULT_CONFIG and the environment (a leading
// --config FILE is accepted too).
func withStore(ctx context.Context, name string, args []string, lookup env, fn func(st app.Store, cfg *config.Config, rest []string) error) error {
	path := ""
	if len(args) >= 2 && (args[0] == "--config" || args[0] == "-config") {
		path, args = args[1], args[2:]
	}
	cfg, err := loadConfig(path, lookup)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, true)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer st.Close()
	return fn(st, cfg, args)
}

// adminKeyring builds the sealer for commands that seal or open secrets.
func adminKeyring(cfg *config.Config, st app.Store) (*envelope.Keyring, error) {
	master, err := app.LoadMasterKeyring(cfg)
	if err != nil {
		return nil, err
	}
	return envelope.New(st, master, time.Now), nil
}
