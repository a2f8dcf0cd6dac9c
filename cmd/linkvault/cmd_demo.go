package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/examples/webapp"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// demoClientID is the client the demo creates for its example app.
const demoClientID = "demo-app"

// demoCredentials is what the demo remembers between runs about its own client: the
// API secrets are shown only once by linkvault, so the demo keeps them in its data
// directory (mode 0600). A real deployment keeps them in the app's secret store.
type demoCredentials struct {
	ClientID    string `json:"clientId"`
	ReadSecret  string `json:"readSecret"`
	WriteSecret string `json:"writeSecret"`
}

// checkDemoAddrs reports a malformed or shared listen address of demo's flags as a
// usage error naming the flag, before the demo creates its directory or key.
func checkDemoAddrs(addr, appAddr, adminAddr string) error {
	named := [][2]string{{"addr", addr}, {"app-addr", appAddr}}
	if adminAddr != config.AdminOff {
		named = append(named, [2]string{"admin-addr", adminAddr})
	}
	seen := make(map[string]string)
	for _, n := range named {
		_, port, err := net.SplitHostPort(n[1])
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
			return usageErrorf("demo: --%s must be host:port (e.g. 127.0.0.1:8080), got %q", n[0], n[1])
		}
		if other, ok := seen[n[1]]; ok && port != "0" {
			return usageErrorf("demo: --%s and --%s are both %s; give each its own address", other, n[0], n[1])
		}
		seen[n[1]] = n[0]
	}
	return nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) (retErr error) {
	fs := newFlags("demo", "Usage: linkvault demo [flags]\n\nRuns the server on embedded SQLite with the simulated exchanges and an example app,\nand prints the URL to open. State lives in --dir (delete it to start over).", stdout)
	dir := fs.String("dir", ".linkvault-demo", "data directory (SQLite database, master key, demo state)")
	addr := fs.String("addr", "127.0.0.1:8080", "linkvault server address")
	appAddr := fs.String("app-addr", "127.0.0.1:8081", "example app address")
	adminAddr := fs.String("admin-addr", config.DefaultAdminAddr, `admin listener address (metrics, health), or "off"`)
	verbose := fs.Bool("v", false, "debug logging")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := checkDemoAddrs(*addr, *appAddr, *adminAddr); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}

	cfg := config.Default()
	cfg.ListenAddr = *addr
	cfg.AdminAddr = *adminAddr
	cfg.Database.SQLitePath = filepath.Join(*dir, "linkvault.db")
	cfg.MasterKeyFile = filepath.Join(*dir, "linkvault.key")
	if *verbose {
		cfg.Log.Level = slog.LevelDebug
	}
	if _, err := envelope.GenerateMasterKeyFile(cfg.MasterKeyFile); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	log := app.NewLogger(&cfg, stderr)

	sim, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{
		Logger: log.With("component", "exchangesim"),
		// Short sandbox tokens so the refresh engine is visibly at work in the demo.
		Sandbox: exchangesim.Config{AccessTTL: 2 * time.Minute},
	})
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, sim)
	cfg.Providers = app.SimulatedProviders(cfg.Providers, sim)
	if err := cfg.Validate(); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", *addr, err)
	}
	appLn, err := net.Listen("tcp", *appAddr)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen on %s: %w (choose another with --app-addr)", *appAddr, err)
	}
	defer func() { _ = appLn.Close() }()
	var adminLn net.Listener
	if cfg.AdminEnabled() {
		if adminLn, err = net.Listen("tcp", *adminAddr); err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on %s: %w (choose another with --admin-addr, or --admin-addr off)", *adminAddr, err)
		}
	}
	a, err := app.New(ctx, &cfg, app.Options{Logger: log, Listener: ln, AdminListener: adminLn})
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, a)
	public := a.URL
	creds, err := ensureDemoClient(ctx, a.Clients, filepath.Join(*dir, "demo-client.json"))
	if err != nil {
		return err
	}

	// The example app: a separate origin (another port), calling linkvault's API with
	// the demo client's write key from its backend, as a real app would.
	exampleApp, err := webapp.New(webapp.Config{
		LinkvaultURL: public, ClientID: creds.ClientID, ClientSecret: linkvault.NewSecret(creds.WriteSecret),
		StorePath: filepath.Join(*dir, "example-app-tokens.json"), Logger: log.With("component", "example-app"),
	})
	if err != nil {
		return err
	}
	// Only the example app may frame the demo client's Link pages (at the address
	// printed below, and at localhost for a loopback address).
	origins := []string{"http://" + appLn.Addr().String()}
	if host, port, err := net.SplitHostPort(appLn.Addr().String()); err == nil && net.ParseIP(host).IsLoopback() {
		origins = append(origins, "http://localhost:"+port)
	}
	appName := "Demo Wallet"
	if _, err := a.Clients.UpdateLinkSettings(ctx, creds.ClientID, clients.LinkSettings{Name: &appName, AllowedOrigins: origins, SetOrigins: true}); err != nil {
		return err
	}
	appSrv := &http.Server{Handler: exampleApp, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = appSrv.Serve(appLn) }()
	defer closeJoin(&retErr, appSrv)

	fmt.Fprintf(stdout, `
linkvault demo is running.

  Open the example app:     http://%s

  linkvault API + Link UI   %s
  metrics and health        %s
  simulated exchanges       coinbase %s  uphold %s  binance %s  sandbox %s
  data directory            %s   (delete it to start over)
  demo client               %s (API secrets in %s)

Sign in to the simulated exchanges with any username and password. Binance connects with an
API key: create one at %s%s and paste the key and secret into Link.
Press Ctrl-C to stop.
`, appLn.Addr(), public, orOff(a.AdminURL), sim.Coinbase.URL, sim.Uphold.URL, sim.Binance.URL, sim.Sandbox.URL,
		*dir, creds.ClientID, filepath.Join(*dir, "demo-client.json"), sim.Binance.URL, exchangesim.BinanceKeyPagePath)
	return a.Run(ctx)
}

// orOff is url, or "off" when it is empty.
func orOff(url string) string {
	if url == "" {
		return config.AdminOff
	}
	return url
}

// ensureDemoClient creates the demo client and its two keys on the first run, and
// reads them back on later runs.
func ensureDemoClient(ctx context.Context, cs *clients.Service, path string) (*demoCredentials, error) {
	if b, err := os.ReadFile(path); err == nil {
		var c demoCredentials
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, err := cs.Authenticate(ctx, c.ClientID, linkvault.NewSecret(c.WriteSecret)); err == nil {
			return &c, nil
		}
		// The database was reset or the keys revoked: make new ones below.
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := cs.CreateClient(ctx, demoClientID, "linkvault demo app"); err != nil && !linkvault.IsConflict(err) {
		return nil, err
	}
	read, err := cs.CreateKey(ctx, demoClientID, linkvault.PermissionRead)
	if err != nil {
		return nil, err
	}
	write, err := cs.CreateKey(ctx, demoClientID, linkvault.PermissionWrite)
	if err != nil {
		return nil, err
	}
	c := &demoCredentials{ClientID: demoClientID, ReadSecret: read.Secret.Reveal(), WriteSecret: write.Secret.Reveal()}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}
