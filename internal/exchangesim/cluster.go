package exchangesim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ClusterConfig configures Start.
type ClusterConfig struct {
	// Host to listen on (default 127.0.0.1).
	Host string
	// Ports per exchange; 0 picks a free port.
	CoinbasePort, UpholdPort, BinancePort, SandboxPort int
	// Per-exchange configuration; zero values take the flavor defaults.
	Coinbase, Uphold, Binance, Sandbox Config
	// Now, Logger and OnIssue are given to every exchange whose own Config leaves
	// them nil.
	Now     func() time.Time
	Logger  *slog.Logger
	OnIssue func(secret string)
}

// Server is one exchange served on a listener.
type Server struct {
	*Exchange
	// URL is the base URL, e.g. "http://127.0.0.1:41234" (no trailing slash).
	URL string
	srv *http.Server
}

// Cluster is the four simulated exchanges running on loopback listeners.
type Cluster struct {
	Coinbase, Uphold, Binance, Sandbox *Server
	closeOnce                          sync.Once
	closeErr                           error
}

// Servers lists the cluster's exchanges in catalog order.
func (c *Cluster) Servers() []*Server {
	return []*Server{c.Coinbase, c.Binance, c.Uphold, c.Sandbox}
}

// ByBrokerType returns the exchange that imitates linkvault's integration of that
// broker type ("coinbase", "uphold", "binanceInternationalDirect", "sandbox"), or nil.
func (c *Cluster) ByBrokerType(brokerType string) *Server {
	switch brokerType {
	case "coinbase":
		return c.Coinbase
	case "uphold":
		return c.Uphold
	case "binanceInternationalDirect":
		return c.Binance
	case "sandbox":
		return c.Sandbox
	}
	return nil
}

// Start runs all four exchanges until Close is called or ctx is done.
func Start(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	fill := func(c Config) Config {
		if c.Now == nil {
			c.Now = cfg.Now
		}
		if c.Logger == nil {
			c.Logger = cfg.Logger
		}
		if c.OnIssue == nil {
			c.OnIssue = cfg.OnIssue
		}
		return c
	}
	c := &Cluster{}
	specs := []struct {
		dst  **Server
		port int
		ex   *Exchange
	}{
		{&c.Coinbase, cfg.CoinbasePort, NewCoinbase(fill(cfg.Coinbase))},
		{&c.Uphold, cfg.UpholdPort, NewUphold(fill(cfg.Uphold))},
		{&c.Binance, cfg.BinancePort, NewBinance(fill(cfg.Binance))},
		{&c.Sandbox, cfg.SandboxPort, NewSandbox(fill(cfg.Sandbox))},
	}
	for _, s := range specs {
		srv, err := serve(ctx, cfg.Host, s.port, s.ex)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("exchangesim: start %s: %w", s.ex.flavor, err)
		}
		*s.dst = srv
	}
	context.AfterFunc(ctx, func() { _ = c.Close() })
	return c, nil
}

func serve(ctx context.Context, host string, port int, ex *Exchange) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: ex, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Server{Exchange: ex, URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops every exchange; in-flight requests are cut off.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		for _, s := range []*Server{c.Coinbase, c.Uphold, c.Binance, c.Sandbox} {
			if s != nil {
				errs = append(errs, s.srv.Close())
			}
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
