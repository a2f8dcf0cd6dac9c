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
	mx := poller.Metrics("webhook")
	m := &metrics{
		deliveries: mx.CounterVec("deliveries_total", "Webhook delivery attempts by outcome (delivered, retry, failed, skipped, lease_lost, error).", "outcome"),
		duration:   mx.Histogram("delivery_seconds", "Duration of webhook delivery attempts.", prometheus.ExponentialBuckets(0.005, 3, 9)),
		queue:      mx.GaugeFunc("outbox_pending", "Outbox events awaiting a delivery attempt (due now or retrying later), read at scrape time.", queue),
	}
	// Every outcome from start-up, at zero (not only after its first event).
	for _, o := range []linkvault.WebhookOutcome{linkvault.WebhookDelivered, linkvault.WebhookRetry, linkvault.WebhookFailed, linkvault.WebhookSkipped, "lease_lost", "error"} {
		m.deliveries.WithLabelValues(string(o))
	}
	return m, poller.Register(reg, "webhook", m.deliveries, m.duration, m.queue)
}
