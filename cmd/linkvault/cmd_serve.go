package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: linkvault serve [--config FILE]\n\nEnvironment variables:")
		for _, v := range config.EnvVars() {
			fmt.Fprintf(stderr, "  %-48s %s\n", v.Name, v.Description)
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, lookup)
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	log.Info("linkvault serving", "addr", a.HTTP.Addr(), "public_url", a.URL, "database", cfg.Database.Driver, "refresh_engine", cfg.Refresh.Enabled)
	fmt.Fprintf(stdout, "linkvault listening on %s\n", a.HTTP.Addr())
	if a.AdminURL != "" {
		log.Info("admin listener (metrics, health)", "addr", a.HTTP.AdminAddr(), "pprof", cfg.AdminPprof)
		fmt.Fprintf(stdout, "linkvault admin listening on %s\n", a.HTTP.AdminAddr())
	}
	return a.Run(ctx)
}
