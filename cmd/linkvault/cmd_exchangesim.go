package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// runExchangeSim starts the four simulated exchanges standalone, prints where they
// listen and how to control them, and blocks until ctx is done.
func runExchangeSim(ctx context.Context, args []string, stdout, _ io.Writer, _ env) (retErr error) {
	fs := newFlags("exchangesim", "Usage: linkvault exchangesim [flags]\n\nRuns the simulated exchanges (Coinbase, Uphold, Binance and sandbox look-alikes speaking\ntheir documented protocols) standalone, until interrupted.", stdout)
	host := fs.String("host", "127.0.0.1", "listen host (the simulator has no authentication: keep it on loopback)")
	coinbase := fs.Int("coinbase-port", 0, "Coinbase-like exchange port (0: random)")
	uphold := fs.Int("uphold-port", 0, "Uphold-like exchange port (0: random)")
	binance := fs.Int("binance-port", 0, "Binance-like exchange port (0: random)")
	sandbox := fs.Int("sandbox-port", 0, "sandbox exchange port (0: random)")
	coinbaseTTL := fs.Duration("coinbase-access-ttl", 0, "Coinbase-like access token lifetime (0: 1h)")
	sandboxTTL := fs.Duration("sandbox-access-ttl", 0, "sandbox access token lifetime (0: 5m)")
	binanceTTL := fs.Duration("binance-key-ttl", 0, "Binance-like API key lifetime (0: until deleted, as at Binance)")
	clientID := fs.String("client-id", exchangesim.DemoClientID, "OAuth client id the exchanges accept")
	clientSecret := fs.String("client-secret", exchangesim.DemoClientSecret, "OAuth client secret the exchanges accept")
	mfaCode := fs.String("mfa-code", exchangesim.DefaultMFACode, "MFA code of auto-provisioned users")
	verbose := fs.Bool("v", false, "log admin actions and faults to stdout")
	envFile := fs.String("env-file", "", "write the LINKVAULT_* settings pointing linkvault serve at these exchanges to `FILE` (mode 0600; KEY=value lines for a shell's \"set -a; . FILE\" or systemd's EnvironmentFile), written once they listen and removed when they stop")
	if err := fs.parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stdout, nil))
	}
	base := func(ttl time.Duration) exchangesim.Config {
		return exchangesim.Config{ClientID: *clientID, ClientSecret: *clientSecret, MFACode: *mfaCode, AccessTTL: ttl}
	}
	if *envFile != "" {
		// A file left by an earlier run (killed, or stopped by SIGHUP) names exchanges
		// that no longer listen: remove it first, so that waiting for the file to appear
		// (README: until [ -s FILE ]) waits for this run's.
		if err := os.Remove(*envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("exchangesim: --env-file: %w", err)
		}
	}
	c, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{
		Host: *host, CoinbasePort: *coinbase, UpholdPort: *uphold, BinancePort: *binance, SandboxPort: *sandbox,
		Coinbase: base(*coinbaseTTL), Uphold: base(0), Binance: base(*binanceTTL), Sandbox: base(*sandboxTTL),
		Logger: logger,
	})
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, c)
	if *envFile != "" {
		if err := writeSimulatorEnv(*envFile, c, *clientID, *clientSecret); err != nil {
			return err
		}
		// The settings describe exchanges that stop with this process.
		defer func() {
			if err := os.Remove(*envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
				retErr = errors.Join(retErr, fmt.Errorf("exchangesim: --env-file: %w", err))
			}
		}()
	}

	fmt.Fprintln(stdout, "Simulated exchanges:")
	for _, s := range []struct {
		brokerType, entry string
		srv               *exchangesim.Server
	}{
		{"coinbase", "consent " + "/oauth2/auth", c.Coinbase},
		{"uphold", "consent /authorize/" + *clientID, c.Uphold},
		{"binanceInternationalDirect", "API keys " + exchangesim.BinanceKeyPagePath, c.Binance},
		{"sandbox", "consent /oauth2/auth", c.Sandbox},
	} {
		fmt.Fprintf(stdout, "  %-28s %s   (%s)\n", s.brokerType, s.srv.URL, s.entry)
	}
	shownSecret := "(as given by -client-secret)"
	if *clientSecret == exchangesim.DemoClientSecret {
		shownSecret = fmt.Sprintf("%q (the public demo default)", *clientSecret)
	}
	fmt.Fprintf(stdout, "OAuth client: id %q, secret %s. Any username works; the first password used is remembered. Transfer 2FA code (CB-2FA-TOKEN, OTP-Token) %s.\n",
		*clientID, shownSecret, *mfaCode)
	fmt.Fprintln(stdout, "Admin API on every exchange:")
	for _, e := range exchangesim.AdminEndpoints() {
		fmt.Fprintf(stdout, "  %s\n", e)
	}
	if *envFile != "" {
		fmt.Fprintf(stdout, "linkvault settings for these exchanges written to %s\n", *envFile)
	}
	<-ctx.Done()
	return nil
}

// writeSimulatorEnv writes the LINKVAULT_* variables that point linkvault at the
// simulated exchanges of c (app.SimulatorEnv, with this run's OAuth client) to path, as
// KEY=value lines, atomically (a reader never sees half a file) and with mode 0600 (it
// holds the OAuth client secret).
func writeSimulatorEnv(path string, c *exchangesim.Cluster, clientID, clientSecret string) error {
	vars := app.SimulatorEnv(c)
	for k := range vars {
		switch {
		case strings.HasSuffix(k, "_CLIENT_ID"):
			vars[k] = clientID
		case strings.HasSuffix(k, "_CLIENT_SECRET"):
			vars[k] = clientSecret
		}
	}
	vars["LINKVAULT_UPHOLD_AUTH_URL"] = c.Uphold.URL + "/authorize/" + url.PathEscape(clientID)
	var b strings.Builder
	b.WriteString("# linkvault exchangesim: settings pointing linkvault at the simulated exchanges\n")
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		v, err := envFileValue(vars[k])
		if err != nil {
			return fmt.Errorf("exchangesim: --env-file: %s: %w", k, err)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("exchangesim: --env-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exchangesim: --env-file: %w", err)
	}
	return nil
}

// envFileValue writes v for both readers of the env file: as is when it holds only
// characters neither a shell nor systemd treats specially, else in single quotes (within
// which both take every character literally). A value holding a quote or a line break
// cannot be written that way.
func envFileValue(v string) (string, error) {
	plain := v != ""
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.,:/@%+=", r)) {
			plain = false
			break
		}
	}
	switch {
	case plain:
		return v, nil
	case strings.ContainsAny(v, "'\"\\\n\r"):
		return "", errors.New("the value holds a quote, a backslash or a line break, which the file cannot carry")
	}
	return "'" + v + "'", nil
}
