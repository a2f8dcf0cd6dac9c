package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/linkvault/linkvault/internal/exchangesim"
)

// runExchangeSim starts the four simulated exchanges standalone and blocks until ctx
// is done.
func runExchangeSim(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exchangesim", flag.ContinueOnError)
	host := fs.String("host", "127.0.0.1", "listen host")
	coinbase := fs.Int("coinbase-port", 0, "Coinbase-like exchange port (0: random)")
	uphold := fs.Int("uphold-port", 0, "Uphold-like exchange port (0: random)")
	binance := fs.Int("binance-port", 0, "Binance-like exchange port (0: random)")
	sandbox := fs.Int("sandbox-port", 0, "sandbox exchange port (0: random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{
		Host: *host, CoinbasePort: *coinbase, UpholdPort: *uphold, BinancePort: *binance, SandboxPort: *sandbox,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, s := range []struct {
		name string
		srv  *exchangesim.Server
	}{{"coinbase", c.Coinbase}, {"uphold", c.Uphold}, {"binanceInternationalDirect", c.Binance}, {"sandbox", c.Sandbox}} {
		fmt.Fprintf(stdout, "%-28s %s   (admin: %s/_sim/)\n", s.name, s.srv.URL, s.srv.URL)
	}
	fmt.Fprintf(stdout, "OAuth client id %q, secret %q; any username/password; MFA code %s\n",
		exchangesim.DemoClientID, exchangesim.DemoClientSecret, exchangesim.DefaultMFACode)
	<-ctx.Done()
	return nil
}
