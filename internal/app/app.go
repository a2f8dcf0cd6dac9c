// Package app is linkvault's one production wiring: from a config.Config it opens the
// store, loads the master key, builds every service (envelope keyring, vault, clients,
// provider adapters, audit recorder, account-use service, lifecycle engine, webhook
// dispatcher, Link) and the HTTP server, runs them, and stops them in order.
//
// cmd/linkvault (serve, demo), the test kits (internal/link/linktest and the HTTP API
// tests built on it), the end-to-end harness (through the binary) and the benchmarks all
// start the server through New. Tests swap parts through Options (clock, store,
// listener, master key, request middleware...), never re-assemble the services.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/revocation"
	"github.com/linkvault/linkvault/internal/sqlstore"
	"github.com/linkvault/linkvault/internal/telemetry"
	"github.com/linkvault/linkvault/internal/vault"
	"github.com/linkvault/linkvault/internal/webhook"
)

// Options replace parts of the assembly. The zero value is production: everything comes
// from the configuration.
type Options struct {
	// Logger receives the log of every service (default: discard).
	Logger *slog.Logger
	// Now is the clock of every service (default time.Now).
	Now func() time.Time
	// Store is used instead of opening Config.Database. The caller owns it: Close
	// leaves it open.
	Store Store
	// MasterKeyring is used instead of the master key of the configuration.
	MasterKeyring *envelope.MasterKeyring
	// Listener is the API listener, used instead of listening on Config.ListenAddr.
	// The public URL is derived from it when Config.PublicURL is unset. Close closes it.
	Listener net.Listener
	// AdminListener is the admin listener (metrics, health, pprof), used instead of
	// listening on Config.AdminAddr (unless that is "off"). Close closes it.
	AdminListener net.Listener
	// Middleware wraps the whole HTTP handler (tests observe or alter requests).
	Middleware func(http.Handler) http.Handler
	// WrapLinkStore wraps the Link session store given to the Link service (tests
	// observe or alter session reads and writes).
	WrapLinkStore func(link.Store) link.Store
	// TracerProvider receives the spans of HTTP requests, statements and provider calls
	// instead of the one the configuration asks for (tests record them in memory).
	TracerProvider trace.TracerProvider
	// Retry is how the account service retries transient provider failures within a
	// request (default: account's defaults). Tests shorten the waits.
	Retry account.RetryPolicy
}

// App is an assembled linkvault server. Its fields are the services, for the commands
// and tests that drive them directly; treat them as read-only.
type App struct {
	Config    *config.Config
	Logger    *slog.Logger
	Store     Store
	Keyring   *envelope.Keyring
	Vault     *vault.Service
	Clients   *clients.Service
	Providers *provider.Registry
	Metrics   *prometheus.Registry
	Audit     *audit.Recorder
	Account   *account.Service
	Engine    *refresh.Engine
	Webhooks  *webhook.Dispatcher
	// Revocations works the durable revocation queue.
	Revocations *revocation.Queue
	Link        *link.Service
	HTTP        *lvhttp.Server
	// URL is the public base URL of the server (Link and OAuth redirect URLs).
	URL string
	// AdminURL is the base URL of the admin listener (/metrics, /healthz, /readyz), or
	// "" when it is off.
	AdminURL string

	opts      Options
	ownsStore bool
	tracing   telemetry.Provider
	ln        net.Listener
	adminLn   net.Listener

	mu        sync.Mutex
	started   bool
	cancel    context.CancelFunc
	served    chan error
	resealed  chan struct{}
	watched   chan struct{}
	swept     chan struct{} // closed when the Link session sweeper has stopped
	retention *retention    // deletes finished webhook events and old audit entries
	retained  chan struct{} // closed when the retention loop has stopped
	stopOnce  sync.Once
	serveErr  error
	closeOnce sync.Once
	closeErr  error
}

// New assembles the server described by cfg (already validated) with the parts opts
// replaces. It opens and migrates the store and binds the listener; nothing runs until
// Start or Run. Close releases what New acquired.
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &App{Config: cfg, Logger: opts.Logger, opts: opts, Metrics: prometheus.NewRegistry(), ln: opts.Listener, adminLn: opts.AdminListener}
	if err := a.build(ctx); err != nil {
		return nil, errors.Join(err, a.release())
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	cfg, log, now := a.Config, a.Logger, a.opts.Now
	var tp trace.TracerProvider
	switch {
	case a.opts.TracerProvider != nil:
		tp = a.opts.TracerProvider
	case cfg.Tracing.Enabled:
		p, err := telemetry.NewOTLP(ctx, Version())
		if err != nil {
			return err
		}
		a.tracing, tp = p, p
	}
	master := a.opts.MasterKeyring
	if master == nil {
		var err error
		if master, err = LoadMasterKeyring(cfg); err != nil {
			return err
		}
	}
	a.Store = a.opts.Store
	upgradeVerifiers := false
	if a.Store == nil {
		var wrap func(sqlstore.Engine) sqlstore.Engine
		if tp != nil {
			wrap = func(e sqlstore.Engine) sqlstore.Engine { return telemetry.TraceEngine(tp, e) }
		}
		st, before, after, err := openAndMigrate(ctx, cfg, wrap)
		if err != nil {
			return err
		}
		a.Store, a.ownsStore = st, true
		upgradeVerifiers = CrossedKeyedVerifiers(before, after)
	}
	if a.ln == nil {
		ln, err := net.Listen("tcp", cfg.ListenAddr)
		if err != nil {
			return fmt.Errorf("listener (%sLISTEN_ADDR): %w", config.EnvPrefix, err)
		}
		a.ln = ln
	}
	a.URL = publicURL(cfg, a.ln)
	if a.adminLn == nil && cfg.AdminEnabled() {
		ln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			return fmt.Errorf("admin listener (%sADMIN_ADDR): %w", config.EnvPrefix, err)
		}
		a.adminLn = ln
	}
	if a.adminLn != nil {
		a.AdminURL = "http://" + a.adminLn.Addr().String()
	}

	var err error
	pdeps := provider.Deps{Logger: log, Now: now}
	if tp != nil {
		pdeps.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return telemetry.Transport(tp, rt) }
	}
	a.Providers, err = provider.NewRegistry(ProviderConfigs(cfg.Providers), pdeps)
	if err != nil {
		return err
	}
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var ringOpts []envelope.Option
	if cfg.RefuseUnboundCredentials {
		ringOpts = append(ringOpts, envelope.WithoutFormat1Credentials())
	}
	a.Keyring = envelope.New(a.Store, master, now, ringOpts...)
	a.Revocations, err = revocation.New(revocation.Config{
		QueueConfig: poller.QueueConfig{
			PollInterval: cfg.Revocation.PollInterval, BackoffBase: cfg.Revocation.BackoffBase, BackoffMax: cfg.Revocation.BackoffMax,
			LeaseDuration: max(time.Minute, 2*maxProviderTimeout(cfg)+10*time.Second), Logger: log, Now: now,
		},
		Timeout: maxProviderTimeout(cfg),
	}, revocation.Deps{Store: a.Store, Opener: a.Keyring, Revoker: a.Providers, Registerer: a.Metrics})
	if err != nil {
		return err
	}
	a.Vault = vault.New(vault.Config{
		Store: a.Store, Sealer: a.Keyring, Revoker: a.Providers, Revocations: a.Revocations, Logger: log, Now: now,
		FingerprintKey: func(ctx context.Context) ([]byte, error) {
			return a.Keyring.DeriveKey(ctx, envelope.PurposeFingerprint)
		},
		Policy:    LifecyclePolicy(cfg.Refresh),
		CacheSize: cfg.ResolveCache.Size, CacheTTL: cfg.ResolveCache.TTL,
	})
	// A key revoked from the CLI (another process) stops working here within this TTL.
	a.Clients = clients.New(a.Store, a.Keyring, now, 5*time.Second)
	if upgradeVerifiers {
		n, err := a.Clients.UpgradeVerifiers(ctx)
		if err != nil {
			return fmt.Errorf("upgrade API key verifiers after migrating (run `linkvault keys upgrade-verifiers` once the cause is fixed): %w", err)
		}
		log.Info("API key verifiers upgraded to keyed verifiers", "keys", n)
	}
	rcfg := RefreshConfig(cfg)
	rcfg.Logger, rcfg.Now = log, now
	a.Engine, err = refresh.New(rcfg, refresh.Deps{Store: a.Store, Vault: a.Vault, Sealer: a.Keyring, Providers: a.Providers, Registerer: a.Metrics})
	if err != nil {
		return err
	}
	a.Webhooks, err = webhook.NewDispatcher(webhook.Config{Timeout: cfg.Webhook.DeliveryTimeout, QueueConfig: poller.QueueConfig{Logger: log, Now: now}},
		webhook.Deps{Store: a.Store, Sealer: a.Keyring, Registerer: a.Metrics})
	if err != nil {
		return err
	}
	a.retention, err = newRetention(cfg.Retention, a.Store, now, log, a.Metrics)
	if err != nil {
		return err
	}
	a.Audit = audit.NewRecorder(a.Store, audit.RecorderConfig{})
	a.Account, err = account.New(account.Config{
		Vault: a.Vault, Providers: a.Providers, Lifecycle: a.Engine, Audit: a.Audit, Transfers: a.Store, Previews: a.Store,
		Retry: a.opts.Retry, StatusCode: lvhttp.StatusCode, Now: now, Logger: log,
	})
	if err != nil {
		return err
	}
	var linkStore link.Store = a.Store
	if a.opts.WrapLinkStore != nil {
		linkStore = a.opts.WrapLinkStore(linkStore)
	}
	a.Link, err = link.New(link.Config{
		Store: linkStore, Connections: a.Store, Clients: a.Store, Vault: a.Vault, Providers: a.Providers, Sealer: a.Keyring,
		PublicURL: a.URL, SessionTTL: cfg.Link.SessionTTL, Now: now, Logger: log,
	})
	if err != nil {
		return err
	}
	a.HTTP = a.server(tp)
	return nil
}

// publicURL is the configured public URL, or one derived from the bound listener (so
// that a port-0 listen address works).
func publicURL(cfg *config.Config, ln net.Listener) string {
	if cfg.PublicURL != "" {
		return cfg.PublicBaseURL()
	}
	derived := *cfg
	derived.ListenAddr = ln.Addr().String()
	return derived.PublicBaseURL()
}

// server builds the HTTP server on the app's listener.
func (a *App) server(tp trace.TracerProvider) *lvhttp.Server {
	cfg := a.Config
	var metrics http.Handler
	if cfg.Metrics.Enabled {
		metrics = promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{})
	}
	srv := lvhttp.NewServer(lvhttp.Config{
		Addr:              cfg.ListenAddr,
		BodyLimit:         cfg.HTTP.MaxBodyBytes,
		MaxHeaderBytes:    cfg.HTTP.MaxHeaderBytes,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		TLSCertFile:       cfg.TLS.CertFile,
		TLSKeyFile:        cfg.TLS.KeyFile,

		AuthFailures:        cfg.RateLimit.AuthFailures,
		LinkTokensPerClient: cfg.RateLimit.LinkTokensPerClient,
		TrustedProxies:      cfg.TrustedProxies,
	}, lvhttp.Deps{
		Vault:     a.Vault,
		Auth:      a.Clients,
		Providers: a.Providers,
		Logger:    a.Logger,
		Now:       a.opts.Now,
		Metrics:   metrics,
		Pprof:     cfg.AdminPprof,
		// Per-route request metrics, on the app's registry.
		Registerer: a.Metrics,
		Tracer:     tp,
		Ready: func(ctx context.Context) error {
			return errors.Join(storeReady(ctx, a.Store), a.Engine.Check(ctx), a.Webhooks.Check(ctx), a.Revocations.Check(ctx))
		},
		Account: a.Account,
		Link:    a.Link,
	})
	if a.opts.Middleware != nil {
		srv.Wrap(a.opts.Middleware)
	}
	srv.UseListener(a.ln)
	if a.adminLn != nil {
		srv.UseAdminListener(a.adminLn)
	}
	return srv
}

// Start runs the background services (when Config.Refresh.Enabled: the lifecycle
// engine and the webhook dispatcher) and the HTTP server, and returns at once. They run
// until ctx ends or Close is called; Wait reports how serving ended.
func (a *App) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return errors.New("app: already started")
	}
	if a.Config.Refresh.Enabled {
		if err := a.Engine.Start(ctx); err != nil {
			return err
		}
		if err := a.Webhooks.Start(ctx); err != nil {
			a.stopBackground()
			return err
		}
		if err := a.Revocations.Start(ctx); err != nil {
			a.stopBackground()
			return err
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	a.started, a.cancel, a.served = true, cancel, make(chan error, 1)
	a.resealed, a.watched = make(chan struct{}), make(chan struct{})
	// Advertise the keyring (and adopt the wrap version every live replica holds)
	// before the first request, then keep it current.
	watch := newKeyringWatch(a)
	watch.check(sctx)
	go func() {
		defer close(a.watched)
		watch.run(sctx)
	}()
	go func() { a.served <- a.HTTP.Serve(sctx, a.Config.HTTP.ShutdownGrace) }()
	go func() {
		defer close(a.resealed)
		a.resealInBackground(sctx)
	}()
	a.swept = make(chan struct{})
	go func() {
		defer close(a.swept)
		if a.Link != nil {
			a.Link.RunSweeper(sctx, link.DefaultSweepInterval)
		}
	}()
	a.retained = make(chan struct{})
	go func() {
		defer close(a.retained)
		a.retention.run(sctx)
	}()
	return nil
}

// Reseal runs one re-seal pass: every credential sealed in an older envelope format
// is rewritten in the current one (bound to its whole row). See vault.Service.Reseal.
func (a *App) Reseal(ctx context.Context) (vault.ResealResult, error) {
	return a.Vault.Reseal(ctx, a.Store, envelope.SealFormat, 0)
}

// resealInBackground runs re-seal passes after start-up until one leaves nothing to
// do (rows skipped because they changed meanwhile are retried a minute later), so
// credentials sealed by an older release move to the current format online. Every
// replica runs it; the passes' version-checked writes make that harmless.
func (a *App) resealInBackground(ctx context.Context) {
	for {
		res, err := a.Reseal(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			a.Logger.Warn("re-seal pass failed; retrying in a minute", "error", err)
		case res.Resealed > 0 || res.Remaining() > 0:
			a.Logger.Info("re-seal pass", "scanned", res.Scanned, "resealed", res.Resealed, "skipped", res.Skipped, "failed", res.Failed)
		}
		if err == nil && res.Skipped == 0 {
			return // rows that failed to open are logged; nothing retries them
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}

// Run is Start followed by Wait: it serves until ctx ends, then stops HTTP first (no
// new work), then the engine (in-flight refreshes finish and write back; unstarted
// leases are released) and the webhook dispatcher. The caller still calls Close.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(ctx); err != nil {
		return err
	}
	return a.Wait()
}

// Wait blocks until the HTTP server of a started app has stopped (its context ended,
// Close was called, or serving failed), stops the background services and returns the
// serving error.
func (a *App) Wait() error {
	a.mu.Lock()
	started := a.started
	a.mu.Unlock()
	if !started {
		return errors.New("app: not started")
	}
	a.stopOnce.Do(func() {
		a.serveErr = <-a.served
		a.cancel()
		<-a.resealed
		<-a.watched
		<-a.swept
		<-a.retained
		a.stopBackground()
	})
	return a.serveErr
}

// stopBackground stops the engine and the dispatcher, bounded by the shutdown grace.
func (a *App) stopBackground() {
	if !a.Config.Refresh.Enabled {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.Config.HTTP.ShutdownGrace)
	defer cancel()
	if err := a.Engine.Stop(ctx); err != nil {
		a.Logger.Warn("refresh engine stop", "error", err)
	}
	if err := a.Webhooks.Stop(ctx); err != nil {
		a.Logger.Warn("webhook dispatcher stop", "error", err)
	}
	if err := a.Revocations.Stop(ctx); err != nil {
		a.Logger.Warn("revocation queue stop", "error", err)
	}
}

// Close stops a started app (as Wait does after its context ends), flushes the audit
// log and closes the store it opened and the listener.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		started := a.started
		a.mu.Unlock()
		if started {
			a.cancel()
			_ = a.Wait() // how serving ended was the caller's to ask (Run, Wait)
		}
		a.closeErr = a.release()
	})
	return a.closeErr
}

// release flushes the audit log and closes what New acquired.
func (a *App) release() error {
	var errs []error
	if a.Audit != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Audit.Close(ctx); err != nil {
			a.Logger.Warn("audit log flush on shutdown", "error", err)
		}
	}
	for _, ln := range []net.Listener{a.ln, a.adminLn} {
		// Closed already when the server ran.
		if ln != nil {
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	if a.ownsStore && a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	if a.tracing.Shutdown != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.tracing.Shutdown(ctx); err != nil {
			a.Logger.Warn("tracing: flushing spans on shutdown", "error", err)
		}
	}
	return errors.Join(errs...)
}
