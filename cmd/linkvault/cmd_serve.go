package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

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
	log := newLogger(cfg, stderr)
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close()
	public := publicURL(cfg, ln)
	if err := a.startLink(public); err != nil {
		ln.Close()
		return err
	}
	srv := a.server(ln)
	log.Info("linkvault serving", "addr", srv.Addr(), "public_url", public, "database", cfg.Database.Driver, "refresh_engine", cfg.Refresh.Enabled)
	fmt.Fprintf(stdout, "linkvault listening on %s\n", srv.Addr())
	return a.serve(ctx, srv)
}
