package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/linkvault/linkvault/internal/exchangesim"
)

// runExchangeSim starts the four simulated exchanges standalone, prints where they
// listen and how to control them, and blocks until ctx is done.
func runExchangeSim(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exchangesim", flag.ContinueOnError)
	fs.SetOutput(stdout)
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("exchangesim: unexpected arguments %q", fs.Args())
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stdout, nil))
	}
	base := func(ttl time.Duration) exchangesim.Config {
		return exchangesim.Config{ClientID: *clientID, ClientSecret: *clientSecret, MFACode: *mfaCode, AccessTTL: ttl}
	}
	c, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{
		Host: *host, CoinbasePort: *coinbase, UpholdPort: *uphold, BinancePort: *binance, SandboxPort: *sandbox,
		Coinbase: base(*coinbaseTTL), Uphold: base(0), Binance: base(*binanceTTL), Sandbox: base(*sandboxTTL),
		Logger: logger,
	})
	if err != nil {
		return err
	}
	defer c.Close()

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
	<-ctx.Done()
	return nil
}
