package webhook

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
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
	return m, poller.Register(reg, "webhook", m.deliveries, m.duration, m.queue)
}
