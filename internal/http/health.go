package http

import (
	"context"
	"net/http"
	"time"
)

// handleHealthz answers as long as the process serves HTTP (liveness).
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeOK(w, map[string]string{"state": "alive"})
}

// handleReadyz answers ok only when the server's dependencies work (readiness).
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.deps.Ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "error", err)
			writeEnvelope(w, http.StatusServiceUnavailable, Envelope{Status: "serverFailure", Message: "Not ready.", ErrorType: "notReady"})
			return
		}
	}
	writeOK(w, map[string]string{"state": "ready"})
}
