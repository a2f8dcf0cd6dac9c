package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
)

// What the loops built on Poller (refresh engine, webhook dispatcher, revocation
// queue) share besides the loop: the default lease owner, zero-value defaults, the
// scrape-time reads of their backlog gauges, metric registration, and the pause
// between retries (also used by the services that retry: vault, account).

// DefaultOwner names this process in leases: hostname, pid and a random suffix, so two
// replicas (or two loops of one process) never share a lease owner.
func DefaultOwner() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "linkvault"
	}
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), linkvault.NewRandomID(6))
}

// DefaultRuntime fills what every loop's configuration leaves to defaults besides
// numbers: the lease owner (DefaultOwner), the clock (time.Now) and the logger (one
// that discards).
func DefaultRuntime(owner *string, now *func() time.Time, log **slog.Logger) {
	if *owner == "" {
		*owner = DefaultOwner()
	}
	if *now == nil {
		*now = time.Now
	}
	if *log == nil {
		*log = slog.New(slog.DiscardHandler)
	}
}

// Default sets *p to v when *p is the zero value.
func Default[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Sampled reads a value for a gauge at scrape time at most once per second, keeping
// the last value when the database does not answer within a second (a scrape never
// waits on a slow database, nor hammers it).
type Sampled[T any] struct {
	read func(ctx context.Context, now time.Time) (T, error)
	now  func() time.Time
	last atomic.Pointer[T]
	at   atomic.Int64 // unix nanos of the last successful read
}

// NewSampled returns a Sampled reading through read with the clock now.
func NewSampled[T any](read func(ctx context.Context, now time.Time) (T, error), now func() time.Time) *Sampled[T] {
	return &Sampled[T]{read: read, now: now}
}

// Value returns the latest value (the zero value until a read succeeds).
func (s *Sampled[T]) Value() T {
	now := s.now()
	if s.last.Load() == nil || now.UnixNano()-s.at.Load() >= int64(time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if v, err := s.read(ctx, now); err == nil {
			s.last.Store(&v)
			s.at.Store(now.UnixNano())
		}
	}
	if v := s.last.Load(); v != nil {
		return *v
	}
	var zero T
	return zero
}

// Register registers a loop's collectors on reg (nil: none are registered); name
// prefixes the error.
func Register(reg prometheus.Registerer, name string, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return errors.Join(errors.New(name+": register metrics"), err)
		}
	}
	return nil
}

// Sleep waits d, or until ctx ends (returning its error): the pause between retries.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Metrics makes the Prometheus collectors of one subsystem, named
// linkvault_<subsystem>_<name>.
type Metrics string

// CounterVec is a counter with labels.
func (s Metrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "linkvault", Subsystem: string(s), Name: name, Help: help}, labels)
}

// Counter is a counter without labels.
func (s Metrics) Counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "linkvault", Subsystem: string(s), Name: name, Help: help})
}

// Histogram is a histogram without labels.
func (s Metrics) Histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "linkvault", Subsystem: string(s), Name: name, Help: help, Buckets: buckets})
}

// HistogramVec is a histogram with labels.
func (s Metrics) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "linkvault", Subsystem: string(s), Name: name, Help: help, Buckets: buckets}, labels)
}

// GaugeFunc is a gauge read by value at scrape time.
func (s Metrics) GaugeFunc(name, help string, value func() float64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "linkvault", Subsystem: string(s), Name: name, Help: help}, value)
}

// CheckLease reports a lease that does not outlast the call it covers (timeout, named
// by call in the message) plus recording the outcome (writeTimeout); nil otherwise.
func CheckLease(lease, timeout time.Duration, call string, writeTimeout time.Duration) error {
	if lease > timeout+writeTimeout {
		return nil
	}
	return fmt.Errorf("lease duration %v must exceed the %s %v plus the write timeout %v", lease, call, timeout, writeTimeout)
}

// CheckBackoff reports a retry ceiling below the base; nil otherwise.
func CheckBackoff(base, ceiling time.Duration) error {
	if ceiling >= base {
		return nil
	}
	return fmt.Errorf("backoff max %v is below backoff base %v", ceiling, base)
}
