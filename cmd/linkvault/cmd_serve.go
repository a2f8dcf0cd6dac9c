package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/linkvault/linkvault/internal/config"
	lvhttp "github.com/linkvault/linkvault/internal/http"
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
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	srv, err := a.server(nil)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	log.Info("linkvault serving", "addr", srv.Addr(), "public_url", cfg.PublicBaseURL(), "database", cfg.Database.Driver)
	fmt.Fprintf(stdout, "linkvault listening on %s\n", srv.Addr())
	return srv.Serve(ctx, cfg.HTTP.ShutdownGrace)
}

// server builds the HTTP server of the app; extra routes (the demo's) may be nil.
func (a *app) server(reg *prometheus.Registry) (*lvhttp.Server, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	var metrics http.Handler
	if a.cfg.Metrics.Enabled {
		metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	return lvhttp.NewServer(lvhttp.Config{
		Addr:              a.cfg.ListenAddr,
		BodyLimit:         a.cfg.HTTP.MaxBodyBytes,
		MaxHeaderBytes:    a.cfg.HTTP.MaxHeaderBytes,
		ReadHeaderTimeout: a.cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.HTTP.ReadTimeout,
		WriteTimeout:      a.cfg.HTTP.WriteTimeout,
		IdleTimeout:       a.cfg.HTTP.IdleTimeout,
		TLSCertFile:       a.cfg.TLS.CertFile,
		TLSKeyFile:        a.cfg.TLS.KeyFile,

		AuthFailuresPerIP:     a.cfg.RateLimit.AuthFailuresPerIP,
		AuthFailuresPerClient: a.cfg.RateLimit.AuthFailuresPerClient,
		LinkTokensPerClient:   a.cfg.RateLimit.LinkTokensPerClient,
	}, lvhttp.Deps{
		Vault:     a.vault,
		Auth:      a.clients,
		Providers: a.providers,
		Logger:    a.log,
		Metrics:   metrics,
		Ready:     ready(a.store),
	}), nil
}
