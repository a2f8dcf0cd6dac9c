package account

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/linkvault/linkvault"
)

// Pinger is an optional interface of provider adapters: a cheap reachability check that
// needs no credential (a public endpoint of the exchange).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health states of an integration.
const (
	HealthOperational = "operational" // the exchange answered recently
	HealthDegraded    = "degraded"    // its last answers were transient failures
	HealthUnknown     = "unknown"     // no recent evidence either way
)

// IntegrationHealth is the health of one integration, from the outcomes of the
// exchange calls this server made recently and from reachability probes. IsUp is false
// only when degraded. LastSuccess / LastFailure are the times of the last evidence,
// nil when there is none.
type IntegrationHealth struct {
	Type        linkvault.BrokerType
	Name        string
	Status      string
	IsUp        bool
	LastSuccess *time.Time
	LastFailure *time.Time
}

// Status reports the health of every enabled integration, in catalog order. It never
// makes one exchange call per request: probes (Pinger) run at most once per HealthTTL.
func (s *Service) Status(ctx context.Context) []IntegrationHealth { return s.health.report(ctx) }

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
func (h *healthTracker) report(ctx context.Context) []IntegrationHealth {
	out := []IntegrationHealth{}
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
		s := IntegrationHealth{Type: in.Type, Name: in.Name, Status: HealthUnknown, IsUp: true}
		if st := h.state[in.Type]; st != nil {
			recent := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) < healthEvidenceTTL }
			switch {
			case recent(st.lastFailure) && st.lastFailure.After(st.lastSuccess):
				s.Status, s.IsUp = HealthDegraded, false
			case recent(st.lastSuccess):
				s.Status = HealthOperational
			}
			if !st.lastSuccess.IsZero() {
				t := st.lastSuccess.UTC()
				s.LastSuccess = &t
			}
			if !st.lastFailure.IsZero() {
				t := st.lastFailure.UTC()
				s.LastFailure = &t
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
