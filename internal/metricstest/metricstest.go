// Package metricstest reads Prometheus counters back in tests: the refresh engine's,
// webhook dispatcher's, revocation queue's and retention loop's tests check what they
// counted through it. It is a test kit: production code never imports it
// (deps_test.go).
package metricstest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Registry is a Prometheus registry to give the component under test, whose counters
// the test reads back with Counter.
type Registry struct {
	*prometheus.Registry
	tb testing.TB
}

// NewRegistry returns an empty registry whose counters tb reads.
func NewRegistry(tb testing.TB) *Registry {
	return &Registry{Registry: prometheus.NewRegistry(), tb: tb}
}

// Counter is Counter(tb, r, name, labels) for the tb of NewRegistry.
func (r *Registry) Counter(name string, labels map[string]string) float64 {
	r.tb.Helper()
	return Counter(r.tb, r.Registry, name, labels)
}

// Counter returns the sum of the counter series named name in g whose labels include
// every pair of labels (all series of name when labels is empty; 0 when none match).
func Counter(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// hasLabels reports whether m carries every pair of labels.
func hasLabels(m *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
			found++
		}
	}
	return found == len(labels)
}
