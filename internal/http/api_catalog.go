package http

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/linkvault/linkvault"
)

// integrationsContent is the content of GET /api/v1/integrations. The public Mesh
// reference does not document this shape; linkvault answers {items: [...]} with each
// integration's catalog entry (linkvault.Integration: type, name, authKind, logoUrl,
// brandColor, supportsRefresh, supportsRevocation, supportsTransfers, networks).
type integrationsContent struct {
	Items []linkvault.Integration `json:"items"`
}

// handleIntegrations is GET /api/v1/integrations: the integrations enabled on this
// server, in catalog order.
func (a *accountAPI) handleIntegrations(w http.ResponseWriter, r *http.Request) error {
	out := integrationsContent{Items: []linkvault.Integration{}}
	if a.s.deps.Providers != nil {
		for _, p := range a.s.deps.Providers.List() {
			out.Items = append(out.Items, p.Integration())
		}
	}
	writeOK(w, out)
	return nil
}

// integrationStatus is one element of the content of GET /api/v1/status (an array, in
// catalog order). status is "operational" (the exchange answered recently),
// "degraded" (its last answers were transient failures: 5xx, 429, timeouts) or
// "unknown" (no recent evidence either way); isUp is false only when degraded.
// lastSuccessAt / lastFailureAt are RFC 3339 times of the last evidence, omitted when
// there is none.
type integrationStatus struct {
	Type          linkvault.BrokerType `json:"type"`
	Name          string               `json:"name"`
	Status        string               `json:"status"`
	IsUp          bool                 `json:"isUp"`
	LastSuccessAt *time.Time           `json:"lastSuccessAt,omitempty"`
	LastFailureAt *time.Time           `json:"lastFailureAt,omitempty"`
}

// handleStatus is GET /api/v1/status: per-integration health from the outcomes of the
// provider calls this server made recently, and from a reachability probe for adapters
// that offer one (Pinger), cached for APIDeps.StatusTTL. It never makes one provider
// call per request.
func (a *accountAPI) handleStatus(w http.ResponseWriter, r *http.Request) error {
	writeOK(w, a.health.report(r.Context()))
	return nil
}

// Pinger is an optional interface of provider adapters: a cheap reachability check that
// needs no credential (a public endpoint of the exchange).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health states reported by GET /api/v1/status.
const (
	healthOperational = "operational"
	healthDegraded    = "degraded"
	healthUnknown     = "unknown"
)

// healthEvidenceTTL is how long an observation counts as evidence of an integration's
// health.
const healthEvidenceTTL = 15 * time.Minute

// healthTracker keeps, per integration, when its exchange last answered and last
// failed transiently. Observations come for free from the API's own provider calls;
// probes (Pinger) run at most once per ttl, one round at a time, never on the
// request's critical path beyond the probe timeout.
type healthTracker struct {
	providers linkvault.Providers
	now       func() time.Time
	ttl       time.Duration
	log       *slog.Logger

	mu       sync.Mutex
	state    map[linkvault.BrokerType]*healthState
	probedAt time.Time
	probing  bool
}

type healthState struct {
	lastSuccess, lastFailure time.Time
}

func newHealthTracker(p linkvault.Providers, now func() time.Time, ttl time.Duration, log *slog.Logger) *healthTracker {
	return &healthTracker{providers: p, now: now, ttl: ttl, log: log, state: map[linkvault.BrokerType]*healthState{}}
}

// observe records the outcome of a provider call. Only transient failures count
// against an integration: a refused credential or request is an answer.
func (h *healthTracker) observe(b linkvault.BrokerType, err error) {
	var pe *linkvault.ProviderError
	if errors.As(err, &pe) && pe.Code == "canceled" {
		return // our caller went away; says nothing about the exchange
	}
	if err != nil && !linkvault.IsTransient(err) {
		if linkvault.ProviderErrorKindOf(err) == 0 {
			return // not a provider answer (internal error, canceled request)
		}
		err = nil
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state[b]
	if st == nil {
		st = &healthState{}
		h.state[b] = st
	}
	if err == nil {
		st.lastSuccess = now
	} else {
		st.lastFailure = now
	}
}

// probeTimeout bounds one round of reachability probes.
const probeTimeout = 2 * time.Second

// report returns the status of every integration, probing first when the last round
// of probes is older than the ttl.
func (h *healthTracker) report(ctx context.Context) []integrationStatus {
	out := []integrationStatus{}
	if h.providers == nil {
		return out
	}
	ps := h.providers.List()
	h.probe(ctx, ps)
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range ps {
		in := p.Integration()
		s := integrationStatus{Type: in.Type, Name: in.Name, Status: healthUnknown, IsUp: true}
		if st := h.state[in.Type]; st != nil {
			recent := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) < healthEvidenceTTL }
			switch {
			case recent(st.lastFailure) && st.lastFailure.After(st.lastSuccess):
				s.Status, s.IsUp = healthDegraded, false
			case recent(st.lastSuccess):
				s.Status = healthOperational
			}
			if !st.lastSuccess.IsZero() {
				t := st.lastSuccess.UTC()
				s.LastSuccessAt = &t
			}
			if !st.lastFailure.IsZero() {
				t := st.lastFailure.UTC()
				s.LastFailureAt = &t
			}
		}
		out = append(out, s)
	}
	return out
}

// probe pings the adapters that implement Pinger, if the last round is stale and no
// round is running (concurrent callers use the previous results).
func (h *healthTracker) probe(ctx context.Context, ps []linkvault.Provider) {
	var pingers []Pinger
	var types []linkvault.BrokerType
	for _, p := range ps {
		if pg, ok := p.(Pinger); ok {
			pingers = append(pingers, pg)
			types = append(types, p.Integration().Type)
		}
	}
	if len(pingers) == 0 {
		return
	}
	h.mu.Lock()
	if h.probing || h.now().Sub(h.probedAt) < h.ttl {
		h.mu.Unlock()
		return
	}
	h.probing = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.probing, h.probedAt = false, h.now()
		h.mu.Unlock()
	}()
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, pg := range pingers {
		wg.Go(func() {
			err := pg.Ping(pctx)
			if err != nil && linkvault.ProviderErrorKindOf(err) == 0 {
				// An unclassified failure to reach the exchange counts as transient.
				err = &linkvault.ProviderError{Broker: types[i], Op: "ping", Kind: linkvault.ProviderTransient, Code: "ping_failed", Err: err}
			}
			h.observe(types[i], err)
		})
	}
	wg.Wait()
}
