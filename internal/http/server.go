// Package http serves linkvault over HTTP: the Mesh-compatible REST API with its
// response envelope and API-key authentication, the Link UI, and health endpoints. The
// mapping from error codes to HTTP status codes lives in one table (envelope.go).
package http

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/vault"
)

// Config holds the server's limits and addresses.
type Config struct {
	Addr              string
	BodyLimit         int64 // bytes per request body
	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	TLSCertFile       string
	TLSKeyFile        string
	// Rate limits per minute; 0 disables a limit. AuthFailures counts failed API
	// authentications per (source address, client id); a valid secret is never refused.
	AuthFailures        int
	LinkTokensPerClient int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed when
	// finding a request's source address (limits.go); empty trusts none.
	TrustedProxies []netip.Prefix
}

func (c *Config) setDefaults() {
	if c.BodyLimit <= 0 {
		c.BodyLimit = 1 << 20
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = 5 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 15 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 60 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 120 * time.Second
	}
}

// Authenticator checks API credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, clientID string, secret linkvault.Secret) (*clients.Principal, error)
}

// Deps are the services the handlers call.
type Deps struct {
	Vault     *vault.Service
	Auth      Authenticator
	Providers linkvault.Providers
	Logger    *slog.Logger
	Now       func() time.Time
	// Metrics serves GET /metrics (Prometheus text format) on the admin listener; nil
	// disables the route.
	Metrics http.Handler
	// Pprof serves Go's runtime profiles at /debug/pprof/ on the admin listener.
	Pprof bool
	// Registerer receives the per-route request metrics (linkvault_http_*); nil leaves
	// them out.
	Registerer prometheus.Registerer
	// Tracer, when set, starts a server span for each request (internal/telemetry).
	Tracer trace.TracerProvider
	// Ready reports whether the server can take traffic (database reachable...).
	Ready func(ctx context.Context) error
	// Account is the one account-use service (internal/account) behind the REST
	// managed-account API and the Link page's holdings and transfer calls; nil answers
	// those endpoints with a clear error. internal/app builds it.
	Account *account.Service
	// Link runs Link sessions (POST /api/v1/linktoken, the Link UI under /link/); nil
	// leaves the Link UI off and answers linktoken requests with a clear error.
	Link *link.Service
}

// Server is the HTTP server.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	now      func() time.Time
	handler  http.Handler
	account  *account.Service // nil: the account endpoints answer a clear error
	srv      *http.Server
	ln       net.Listener
	adminLn  net.Listener // nil: no admin listener
	limits   limits
	ids      *requestIDs
	patterns []string          // every route registered on the public listener
	allow    map[string]string // Allow header by endpoint path, for 405s (read-only after New)
	metrics  *httpMetrics      // nil: not counted
}

// NewServer builds the server and its routes.
func NewServer(cfg Config, deps Deps) *Server {
	cfg.setDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, now: deps.Now}
	s.account = deps.Account
	s.limits = newLimits(cfg, deps.Now)
	s.ids = newRequestIDs()
	mux := &routeMux{ServeMux: http.NewServeMux()}
	s.routes(mux)
	s.patterns = mux.patterns
	s.allow = allowedMethods(mux.patterns)
	if deps.Registerer != nil {
		m, err := newHTTPMetrics(deps.Registerer, mux.patterns)
		if err != nil {
			// Only a second server on one registry collides; count nothing rather than fail.
			s.log.Warn("http metrics not registered", "error", err)
		} else {
			s.metrics = m
		}
	}
	s.handler = s.observe(s.recoverPanics(checkText(mux)))
	return s
}

// Routes lists the route patterns of the public listener ("POST /api/v1/linktoken").
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }

// Handler returns the root handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Wrap puts mw around the root handler (tests observe or alter requests). Call it
// before Serve.
func (s *Server) Wrap(mw func(http.Handler) http.Handler) { s.handler = mw(s.handler) }

// Listen binds the listening socket, so the caller knows the address before Serve.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// UseListener makes the server serve on ln (already bound by the caller, for example
// to learn a port-0 address before building the services that need the public URL).
func (s *Server) UseListener(ln net.Listener) { s.ln = ln }

// Addr is the bound address (after Listen).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// Serve serves until ctx is done, then shuts down gracefully within grace. With an
// admin listener (UseAdminListener), it serves the admin endpoints there too; either
// listener failing stops both.
func (s *Server) Serve(ctx context.Context, grace time.Duration) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	servers := []*http.Server{s.srv}
	errc := make(chan error, 2)
	go func() {
		if s.cfg.TLSCertFile != "" {
			s.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- s.srv.ServeTLS(s.ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
			return
		}
		errc <- s.srv.Serve(s.ln)
	}()
	if s.adminLn != nil {
		admin := &http.Server{
			Handler:           s.adminHandler(),
			ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
			ReadTimeout:       s.cfg.ReadTimeout,
			// A CPU profile or trace runs for ?seconds=N (30 by default): allow it.
			WriteTimeout: adminWriteTimeout,
			IdleTimeout:  s.cfg.IdleTimeout,
			ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			BaseContext:  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		servers = append(servers, admin)
		go func() { errc <- admin.Serve(s.adminLn) }()
	}
	running := len(servers)
	var errs []error
	select {
	case err := <-errc: // one listener failed: stop the other
		running--
		errs = append(errs, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	for ; running > 0; running-- {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// The panic value may hold request data; log only that it happened and where.
				s.log.ErrorContext(r.Context(), "panic in handler", "route", r.Pattern, "stack", string(debug.Stack()))
				writeErrorEnvelope(w, &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal, Message: "Internal error."})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
