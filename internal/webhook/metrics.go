package webhook

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
)

// metrics are the dispatcher's Prometheus collectors; labels are bounded (outcome only,
// never a client or an event).
type metrics struct {
	deliveries *prometheus.CounterVec // outcome: delivered, retry, failed, skipped, lease_lost, error
	duration   prometheus.Histogram
	queue      prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, queue func() float64) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "linkvault", Subsystem: "webhook", Name: "deliveries_total",
			Help: "Webhook delivery attempts by outcome (delivered, retry, failed, skipped, lease_lost, error).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "linkvault", Subsystem: "webhook", Name: "delivery_seconds",
			Help:    "Duration of webhook delivery attempts.",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 9),
		}),
		queue: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "linkvault", Subsystem: "webhook", Name: "outbox_pending",
			Help: "Outbox events awaiting a delivery attempt (due now or retrying later), read at scrape time.",
		}, queue),
	}
	// Every outcome from start-up, at zero (not only after its first event).
	for _, o := range []linkvault.WebhookOutcome{linkvault.WebhookDelivered, linkvault.WebhookRetry, linkvault.WebhookFailed, linkvault.WebhookSkipped, "lease_lost", "error"} {
		m.deliveries.WithLabelValues(string(o))
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.duration, m.queue} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("webhook: register metrics"), err)
		}
	}
	return m, nil
}

// queueCounter reads the outbox backlog for the gauge, at most once per second,
// keeping the last value when the database does not answer in time.
type queueCounter struct {
	count func(ctx context.Context) (int64, error)
	now   func() time.Time
	last  atomic.Int64
	at    atomic.Int64
}

func (q *queueCounter) value() float64 {
	now := q.now()
	if now.UnixNano()-q.at.Load() >= int64(time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if n, err := q.count(ctx); err == nil {
			q.last.Store(n)
			q.at.Store(now.UnixNano())
		}
	}
	return float64(q.last.Load())
}
