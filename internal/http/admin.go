package http

import (
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// adminWriteTimeout bounds an admin response; a CPU profile or execution trace streams
// for its ?seconds= (30 by default), so it is longer than the API's.
const adminWriteTimeout = 2 * time.Minute

// UseAdminListener makes Serve serve the admin endpoints on ln: GET /healthz, /readyz,
// /metrics (Deps.Metrics) and, with Deps.Pprof, /debug/pprof/. The public listener
// serves none of them.
func (s *Server) UseAdminListener(ln net.Listener) { s.adminLn = ln }

// AdminAddr is the admin listener's bound address, or "" without one.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// AdminHandler serves the admin endpoints (tests call it directly).
func (s *Server) AdminHandler() http.Handler { return s.adminHandler() }

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	if s.deps.Metrics != nil {
		mux.Handle("GET /metrics", s.deps.Metrics)
	}
	if s.deps.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return s.recoverPanics(mux)
}
