package exchangesim

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Faults are the failures an exchange injects into its token, revocation, login and API
// endpoints (never into the consent page or the admin API).
type Faults struct {
	// ErrorRate is the fraction of calls answered with 503 (0..1).
	ErrorRate float64 `json:"errorRate"`
	// RateLimitRate is the fraction of calls answered with 429 and a Retry-After header.
	RateLimitRate float64 `json:"rateLimitRate"`
	// RetryAfter is the Retry-After of those 429s (default 1s; whole seconds).
	RetryAfter time.Duration `json:"-"`
	// Latency is added before every answer (before the request is processed: a
	// client that gives up meanwhile leaves nothing done).
	Latency time.Duration `json:"-"`
	// AnswerLatency holds every answer back for this long after the request was
	// processed (a slow way back, or an exchange slow to answer after committing): a
	// refresh token is rotated at once, and a client that dies meanwhile never learns
	// the new one (the crash window of docs/lifecycle.md).
	AnswerLatency time.Duration `json:"-"`
	// ErrorDetail is extra text put into every error body, so tests can prove that
	// adapters never echo upstream bodies.
	ErrorDetail string `json:"errorDetail,omitempty"`
}

type faultState struct{ p atomic.Pointer[Faults] }

func (f *faultState) load() Faults {
	if p := f.p.Load(); p != nil {
		return *p
	}
	return Faults{}
}

// SetFaults replaces the exchange's fault injection; the zero Faults turns it off.
func (e *Exchange) SetFaults(f Faults) {
	e.faults.p.Store(&f)
	e.log.Info("faults set", "error_rate", f.ErrorRate, "rate_limit_rate", f.RateLimitRate, "latency", f.Latency, "answer_latency", f.AnswerLatency)
}

// Faults returns the current fault injection.
func (e *Exchange) Faults() Faults { return e.faults.load() }

// endpointClass says which counter a request increments.
type endpointClass int

const (
	classToken endpointClass = iota + 1
	classRevoke
	classLogin
	classAPI
)

// faulty wraps a handler with latency, 503 and 429 injection and call counting.
func (e *Exchange) faulty(class endpointClass, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch class {
		case classAPI:
			e.stats.apiCalls.Add(1)
		case classToken:
			e.stats.tokenCalls.Add(1)
		}
		f := e.faults.load()
		if f.Latency > 0 {
			// Read the body first: only then does net/http watch the connection and
			// cancel the request context when the client gives up.
			body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
			e.stats.faults503.Add(1)
			e.writeError(w, class, http.StatusServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable.")
			return
		}
		if f.RateLimitRate > 0 && rand.Float64() < f.RateLimitRate {
			e.stats.faults429.Add(1)
			secs := int(f.RetryAfter / time.Second)
			if secs <= 0 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			e.writeError(w, class, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests.")
			return
		}
		if f.AnswerLatency > 0 {
			held := &heldAnswer{header: http.Header{}}
			h(held, r)
			e.stats.held.Add(1)
			t := time.NewTimer(f.AnswerLatency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				e.stats.held.Add(-1)
				return
			}
			e.stats.held.Add(-1)
			held.replay(w)
			return
		}
		h(w, r)
	}
}

// heldAnswer records an answer so that it can be sent later (Faults.AnswerLatency).
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *heldAnswer) Header() http.Header { return a.header }

func (a *heldAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *heldAnswer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(b)
}

func (a *heldAnswer) replay(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(max(a.status, http.StatusOK))
	_, _ = w.Write(a.body.Bytes())
}
