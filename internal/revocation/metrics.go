package revocation

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
)

// metrics are the queue's Prometheus collectors; labels are bounded (broker type,
// reason, state), never a client or a tokenId.
type metrics struct {
	attempts *prometheus.CounterVec   // broker
	outcomes *prometheus.CounterVec   // broker, reason, state (or lease_lost / error)
	latency  *prometheus.HistogramVec // reason: from the entry's creation to its final state
}

func newMetrics(reg prometheus.Registerer, st Store, now func() time.Time) (*metrics, error) {
	mx := poller.Metrics("revocation")
	m := &metrics{
		attempts: mx.CounterVec("attempts_total", "Revocation calls made to exchanges, by broker type.", "broker"),
		outcomes: mx.CounterVec("outcomes_total", "Revocation outcomes by broker type, reason (removed, replaced) and state (revoked, revocationPending, revocationRefused, revocationUnsupported, revocationUnreadable; lease_lost and error when recording failed).", "broker", "reason", "state"),
		latency:  mx.HistogramVec("completion_seconds", "Time from queueing a credential to the exchange's final answer, by reason.", prometheus.ExponentialBuckets(0.05, 3, 11), "reason"),
	}
	// Series from start-up, at zero, so every documented metric is scraped before its
	// first event (TestDocumentedMetricsFromStartUp in internal/app).
	for _, b := range linkvault.BrokerTypes {
		m.attempts.WithLabelValues(string(b))
		for _, r := range []string{linkvault.RevocationReasonRemoved, linkvault.RevocationReasonReplaced} {
			for _, st := range []linkvault.RevocationState{linkvault.RevocationRevoked, linkvault.RevocationPending, linkvault.RevocationRefused, linkvault.RevocationUnsupported, linkvault.RevocationUnreadable} {
				m.outcomes.WithLabelValues(string(b), r, string(st))
			}
		}
	}
	for _, r := range []string{linkvault.RevocationReasonRemoved, linkvault.RevocationReasonReplaced} {
		m.latency.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	c := poller.NewSampled(func(ctx context.Context, now time.Time) (counts, error) {
		total, due, err := st.CountRevocations(ctx, now)
		return counts{total, due}, err
	}, now)
	depth := mx.GaugeFunc("queue_depth", "Credentials in the revocation queue (awaiting their exchange's answer), read at scrape time.", func() float64 { return float64(c.Value().total) })
	due := mx.GaugeFunc("queue_due", "Revocation queue entries due for an attempt now, read at scrape time.", func() float64 { return float64(c.Value().due) })
	return m, poller.Register(reg, "revocation", m.attempts, m.outcomes, m.latency, depth, due)
}

// counts are the queue sizes the gauges show.
type counts struct{ total, due int64 }
