package refresh

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
)

// Outcomes of refreshes and validations, the values of the "outcome" label.
const (
	OutcomeOK        = "ok"         // renewed (refresh) or still valid (validation)
	OutcomeReauth    = "reauth"     // the provider refused it: marked re-auth-required
	OutcomeTransient = "transient"  // 5xx, 429, timeout...: credential kept, retried with backoff
	OutcomeLeaseLost = "lease_lost" // the write-back found the lease taken over: nothing written
	OutcomeError     = "error"      // a local failure (unreadable credential, database error)
)

// metrics are the engine's Prometheus collectors. Labels are bounded: broker type
// (four values), outcome, path; never a tokenId or a client.
type metrics struct {
	refreshes      *prometheus.CounterVec // broker, outcome
	validations    *prometheus.CounterVec // broker, outcome
	sessions       *prometheus.CounterVec // outcome: warned, expired
	onDemand       *prometheus.CounterVec // outcome
	leaseConflicts *prometheus.CounterVec // path: on_demand, write_back
	joins          prometheus.Counter
	claimed        prometheus.Histogram
	providerTime   *prometheus.HistogramVec // broker, op
	polls          *prometheus.CounterVec   // result: ok, error
	dueGauge       prometheus.GaugeFunc
	inFlight       prometheus.GaugeFunc
}

// newMetrics creates the collectors and registers them on reg (nil: not registered).
// due reads the current due-set size for the gauge at scrape time;
// inFlight reads how many connections the process holds under a lease.
func newMetrics(reg prometheus.Registerer, due, inFlight func() float64) (*metrics, error) {
	mx := poller.Metrics("refresh")
	m := &metrics{
		refreshes:      mx.CounterVec("refreshes_total", "Credential refreshes by the lifecycle engine and on demand, by broker and outcome (ok, reauth, transient, lease_lost, error).", "broker", "outcome"),
		validations:    mx.CounterVec("validations_total", "Periodic validations of non-expiring credentials, by broker and outcome.", "broker", "outcome"),
		sessions:       mx.CounterVec("session_checks_total", "Checks of expiring, non-refreshable sessions: warned (expiry warning sent), expired (marked re-auth-required), rescheduled.", "outcome"),
		onDemand:       mx.CounterVec("on_demand_total", "On-demand renewals requested by API calls, by outcome (ok, stored: another worker had renewed it, reauth, unavailable, error).", "outcome"),
		leaseConflicts: mx.CounterVec("lease_conflicts_total", "Leases found held by another worker: on_demand (an API call waited for it), write_back (a write-back was fenced out).", "path"),
		joins:          mx.Counter("single_flight_joins_total", "On-demand renewals that joined one already in flight in this process instead of starting their own."),
		claimed:        mx.Histogram("claimed_per_poll", "Due connections claimed by one poll.", []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500}),
		providerTime:   mx.HistogramVec("provider_call_seconds", "Duration of provider refresh and validation calls.", prometheus.ExponentialBuckets(0.001, 3, 10), "broker", "op"),
		polls:          mx.CounterVec("polls_total", "Polls of the due set, by result.", "result"),
		dueGauge:       mx.GaugeFunc("due_connections", "Connections whose scheduled check has come (leased or not), read at scrape time.", due),
		inFlight:       mx.GaugeFunc("in_flight", "Connections this process works on under a lease (background and on demand together), at most LINKVAULT_REFRESH_WORKERS: what a crash now could cost.", inFlight),
	}
	m.initLabels()
	return m, poller.Register(reg, "refresh", m.refreshes, m.validations, m.sessions, m.onDemand, m.leaseConflicts,
		m.joins, m.claimed, m.providerTime, m.polls, m.dueGauge, m.inFlight)
}

// initLabels creates every series with its known labels at zero, so that each
// documented metric is scraped from start-up, before its first event (a counter that
// appears only when it first moves hides the first increase from rate()).
func (m *metrics) initLabels() {
	for _, b := range linkvault.BrokerTypes {
		for _, o := range []string{OutcomeOK, OutcomeReauth, OutcomeTransient, OutcomeLeaseLost, OutcomeError} {
			m.refreshes.WithLabelValues(string(b), o)
			m.validations.WithLabelValues(string(b), o)
		}
		for _, op := range []string{"refresh", "validate"} {
			m.providerTime.WithLabelValues(string(b), op)
		}
	}
	for _, o := range []string{"warned", "expired", "rescheduled"} {
		m.sessions.WithLabelValues(o)
	}
	for _, o := range []string{onDemandOK, onDemandStored, onDemandReauth, onDemandUnavailable, onDemandError} {
		m.onDemand.WithLabelValues(o)
	}
	for _, p := range []string{"on_demand", "write_back"} {
		m.leaseConflicts.WithLabelValues(p)
	}
	for _, r := range []string{"ok", "error"} {
		m.polls.WithLabelValues(r)
	}
}
