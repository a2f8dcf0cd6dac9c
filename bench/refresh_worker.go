package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/vault"
)

// RunRefreshWorker is one refresh replica for the refresh scenario when `linkvault
// serve` does not run the engine itself: it is configured exactly like serve (the same
// LINKVAULT_* variables through internal/config), wires store, envelope keyring, vault,
// provider registry and refresh engine the way the binary does, and serves /readyz and
// /metrics on a free loopback port until ctx ends.
func RunRefreshWorker(ctx context.Context, stdout, stderr io.Writer) error {
	cfg, err := config.Load("", os.LookupEnv, os.ReadFile)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.Log.Level}))
	var st interface {
		vault.Store
		refresh.Store
		envelope.DataKeyStore
		Close() error
	}
	switch cfg.Database.Driver {
	case config.DriverSQLite:
		st, err = sqlite.Open(ctx, cfg.Database.SQLitePath, sqlite.Options{})
	case config.DriverPostgres:
		st, err = postgres.Open(ctx, cfg.Database.URL.Reveal(), postgres.Options{})
	default:
		err = fmt.Errorf("unknown driver %q", cfg.Database.Driver)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	master, err := envelope.ReadMasterKeyFile(cfg.MasterKeyPath())
	if err != nil {
		return err
	}
	conv := func(p config.Provider) provider.Config {
		return provider.Config{AuthURL: p.AuthURL, TokenURL: p.TokenURL, RevokeURL: p.RevokeURL, APIBaseURL: p.APIBaseURL,
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, Timeout: p.Timeout, MaxInFlight: p.MaxInFlight}
	}
	reg, err := provider.NewRegistry(provider.Configs{Coinbase: conv(cfg.Providers.Coinbase), Uphold: conv(cfg.Providers.Uphold),
		Binance: conv(cfg.Providers.Binance), Sandbox: conv(cfg.Providers.Sandbox)}, provider.Deps{Logger: log})
	if err != nil {
		return err
	}
	keyring := envelope.New(st, master, time.Now)
	v := vault.New(vault.Config{Store: st, Sealer: keyring, Logger: log,
		Policy:    vault.Policy{RefreshAhead: cfg.Refresh.Ahead, ValidateEvery: cfg.Refresh.ValidationInterval, WarnAhead: 24 * time.Hour},
		CacheSize: cfg.ResolveCache.Size, CacheTTL: cfg.ResolveCache.TTL})
	promReg := prometheus.NewRegistry()
	eng, err := refresh.New(refresh.Config{
		PollInterval: cfg.Refresh.PollInterval, BatchSize: cfg.Refresh.BatchSize, Workers: cfg.Refresh.Workers,
		LeaseDuration: cfg.Refresh.LeaseDuration, Logger: log,
	}, refresh.Deps{Store: st, Vault: v, Sealer: keyring, Providers: reg, Registerer: promReg})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(promReg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "refresh-worker listening on %s\n", ln.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := eng.Stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
