package metricstest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCounter(t *testing.T) {
	reg := NewRegistry(t)
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "things_total", Help: "h"}, []string{"broker", "outcome"})
	reg.MustRegister(c, prometheus.NewCounter(prometheus.CounterOpts{Name: "other_total", Help: "h"}))
	c.WithLabelValues("coinbase", "ok").Add(2)
	c.WithLabelValues("coinbase", "error").Add(3)
	c.WithLabelValues("uphold", "ok").Add(5)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"things_total", nil, 10},
		{"things_total", map[string]string{"outcome": "ok"}, 7},
		{"things_total", map[string]string{"broker": "coinbase", "outcome": "error"}, 3},
		{"things_total", map[string]string{"broker": "binance"}, 0},
		{"things_total", map[string]string{"region": "eu"}, 0}, // a label the series lack
		{"other_total", nil, 0},
		{"missing_total", nil, 0},
	} {
		if got := Counter(t, reg, tt.name, tt.labels); got != tt.want {
			t.Errorf("Counter(%s, %v) = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
		if got := reg.Counter(tt.name, tt.labels); got != tt.want {
			t.Errorf("Registry.Counter(%s, %v) = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}
