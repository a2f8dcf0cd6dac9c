// Package webhook delivers the transactional outbox to clients' webhook endpoints.
//
// State changes write their events into the outbox (webhook_events) in the same
// database transaction as the change itself (see the stores), so an event exists if and
// only if its change committed. The Dispatcher claims due events with a lease (FOR
// UPDATE SKIP LOCKED on PostgreSQL, the single writer on SQLite), POSTs each as JSON
// {type, timestamp, data} signed per the Standard Webhooks specification (Sign,
// Verify), and records every attempt in the delivery log in one transaction with the
// event's new state. Delivery is at least once: a receiver deduplicates on the
// webhook-id header, which is the event id and the same on every attempt.
//
// Timeouts, network errors, 408, 429 (honouring Retry-After) and 5xx are retried with
// exponential backoff and jitter until a bounded schedule runs out (the event is then
// marked failed, its log kept); other answers fail the event at once. Events of clients
// without a webhook URL are marked skipped. Response bodies are never read beyond a
// small limit, stored or logged.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
)

// Config configures a Dispatcher. Zero fields take the defaults given with each.
type Config struct {
	// QueueConfig: the lease owner, polling, workers, lease, write timeout, retry
	// schedule, clock and logger (which receives events, never secrets or response
	// bodies). Defaults: poll every 1s, batches of 50 (never more than idle workers),
	// 8 workers (deliveries at once), lease 1m, write timeout 5s (recording an
	// attempt), backoff 5s to 6h.
	poller.QueueConfig
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration
	// MaxAttempts ends the retry schedule: the event fails after MaxAttempts attempts.
	// Default 15 (with the default backoff, about 26 hours of retries in all).
	MaxAttempts int
	// SecretCacheTTL is how long a client's opened signing secrets are reused.
	// Default 10s.
	SecretCacheTTL time.Duration
	// Client sends the deliveries. Default: a client that does not follow redirects.
	Client *http.Client
}

// queueDefaults are the defaults of Config's QueueConfig.
var queueDefaults = poller.QueueConfig{
	PollInterval: time.Second, BatchSize: 50, Workers: 8, LeaseDuration: time.Minute,
	WriteTimeout: 5 * time.Second, BackoffBase: 5 * time.Second, BackoffMax: 6 * time.Hour,
}

func (c Config) withDefaults() Config {
	c.QueueConfig = c.QueueConfig.WithDefaults(queueDefaults)
	poller.Default(&c.Timeout, 10*time.Second)
	poller.Default(&c.SecretCacheTTL, 10*time.Second)
	poller.Default(&c.MaxAttempts, 15)
	if c.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = c.Workers
		c.Client = &http.Client{
			Transport: t,
			// A redirect is an answer (a failed delivery), never followed: the body
			// and signature must not travel to a URL the operator did not configure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return c
}

// Validate reports inconsistent settings of a defaulted Config.
func (c Config) Validate() error {
	errs := append(c.Check(c.Timeout, c.SecretCacheTTL),
		poller.CheckLease(c.LeaseDuration, c.Timeout, "delivery timeout", c.WriteTimeout))
	if c.MaxAttempts < 1 {
		errs = append(errs, errors.New("max attempts must be at least 1"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("webhook: invalid config: %w", err)
	}
	return nil
}

// Store is what the Dispatcher needs from the database.
type Store interface {
	OutboxStore
	QueueCounter
}

// Deps are the Dispatcher's collaborators.
type Deps struct {
	Store  Store
	Sealer linkvault.Sealer // opens the signing secrets
	// Registerer receives the metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
}

// Dispatcher delivers outbox events. Start runs it in the background; Stop ends it.
type Dispatcher struct {
	cfg     Config
	store   Store
	secrets *secretCache
	m       *metrics
	log     *slog.Logger
	now     func() time.Time
	loop    *poller.Poller[linkvault.WebhookClaim] // the background claim-and-deliver loop
}

// NewDispatcher returns a Dispatcher; it validates cfg (after defaults) and registers
// the metrics.
func NewDispatcher(cfg Config, d Deps) (*Dispatcher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Sealer == nil {
		return nil, errors.New("webhook: Store and Sealer are required")
	}
	backlog := poller.NewSampled(func(ctx context.Context, _ time.Time) (int64, error) {
		return d.Store.CountPendingWebhookEvents(ctx)
	}, cfg.Now)
	m, err := newMetrics(d.Registerer, func() float64 { return float64(backlog.Value()) })
	if err != nil {
		return nil, err
	}
	disp := &Dispatcher{
		cfg: cfg, store: d.Store, secrets: newSecretCache(d.Store, d.Sealer, cfg.SecretCacheTTL, cfg.Now), m: m,
		log: cfg.Logger.With("component", "webhook", "owner", cfg.Owner), now: cfg.Now,
	}
	disp.loop = poller.New(cfg.Poller("webhook", disp.log), disp.claim, disp.deliver)
	return disp, nil
}

// Start runs the delivery loop in the background until Stop is called or ctx ends.
func (d *Dispatcher) Start(ctx context.Context) error {
	if err := d.loop.Start(ctx); err != nil {
		return err
	}
	d.log.Info("webhook dispatcher started", "workers", d.cfg.Workers)
	return nil
}

// Stop stops polling and waits for deliveries in flight. If ctx ends first they are
// cancelled (and retried later: their events stay leased until the lease lapses).
func (d *Dispatcher) Stop(ctx context.Context) error { return d.loop.Stop(ctx) }

// Check reports an error when outbox polls have been failing for longer than ten poll
// intervals (at least 30s), for a readiness probe.
func (d *Dispatcher) Check(ctx context.Context) error { return d.loop.Check(ctx) }

// claim leases up to limit due events for this dispatcher's workers.
func (d *Dispatcher) claim(ctx context.Context, now time.Time, limit int) ([]linkvault.WebhookClaim, error) {
	return d.store.ClaimWebhookEvents(ctx, now, d.cfg.Owner, now.Add(d.cfg.LeaseDuration), limit)
}

// payload is the JSON body of a delivery (Standard Webhooks shape).
type payload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Body returns the JSON body delivered for e (stable across attempts).
func Body(e linkvault.Event) ([]byte, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	return json.Marshal(payload{Type: e.Type, Timestamp: e.CreatedAt.UTC(), Data: data})
}

// maxResponseRead bounds how much of a receiver's answer is read (and discarded), so
// the connection can be reused without a hostile receiver costing memory or time.
const maxResponseRead = 64 << 10

// deliver makes one attempt at p and records it.
func (d *Dispatcher) deliver(ctx context.Context, p linkvault.WebhookClaim) {
	attempt := p.Attempts + 1
	rec := linkvault.WebhookAttempt{EventID: p.Event.ID, ClientID: p.Event.ClientID, Lease: p.Lease, Attempt: attempt}
	var retryAfter time.Duration
	start := d.now()
	rec.AttemptedAt = start
	switch p.URL {
	case "":
		rec.Outcome, rec.ErrorCode = linkvault.WebhookSkipped, "no_webhook_url"
	default:
		rec.StatusCode, rec.ErrorCode, retryAfter = d.send(ctx, p, start)
		rec.Duration = d.now().Sub(start)
		d.m.duration.Observe(rec.Duration.Seconds())
		switch {
		case rec.ErrorCode == "":
			rec.Outcome = linkvault.WebhookDelivered
		case !retryable(rec.StatusCode, rec.ErrorCode):
			rec.Outcome = linkvault.WebhookFailed
		case attempt >= d.cfg.MaxAttempts:
			rec.Outcome = linkvault.WebhookFailed
		default:
			rec.Outcome = linkvault.WebhookRetry
			rec.NextAttemptAt = d.now().Add(poller.Backoff(attempt, d.cfg.BackoffBase, d.cfg.BackoffMax, retryAfter, rand.Float64()))
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.WriteTimeout)
	defer cancel()
	err := d.store.RecordWebhookAttempt(wctx, rec)
	switch {
	case err == nil:
		d.m.deliveries.WithLabelValues(string(rec.Outcome)).Inc()
		if rec.Outcome == linkvault.WebhookFailed {
			d.log.Warn("webhook event failed for good", "event_type", p.Event.Type, "client", p.Event.ClientID,
				"attempts", attempt, "status", rec.StatusCode, "error_code", rec.ErrorCode)
		}
	case linkvault.IsConflict(err):
		d.m.deliveries.WithLabelValues("lease_lost").Inc()
		d.log.Warn("webhook event lease lost before the attempt was recorded; it will be delivered again", "event_type", p.Event.Type)
	default:
		d.m.deliveries.WithLabelValues("error").Inc()
		d.log.Error("cannot record a webhook attempt", "error", err)
	}
}

// send POSTs p once and classifies the answer: errorCode is empty on success.
func (d *Dispatcher) send(ctx context.Context, p linkvault.WebhookClaim, now time.Time) (status int, errorCode string, retryAfter time.Duration) {
	secrets, err := d.secrets.get(ctx, p.Event.ClientID)
	if err != nil {
		d.log.Error("cannot open a client's webhook secrets", "client", p.Event.ClientID, "error_type", linkvault.ErrorType(err))
		return 0, "secret_unavailable", 0
	}
	if len(secrets) == 0 {
		return 0, "no_signing_secret", 0
	}
	body, err := Body(p.Event)
	if err != nil {
		return 0, "invalid_event", 0
	}
	sig, err := Sign(secrets, p.Event.ID, now, body)
	if err != nil {
		return 0, "secret_unavailable", 0
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "invalid_url", 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "linkvault-webhooks/1")
	req.Header.Set(HeaderID, p.Event.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, transportCode(err), 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, "", 0
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), d.now())
	}
	return resp.StatusCode, "http_" + strconv.Itoa(resp.StatusCode), retryAfter
}

// retryable reports whether a failed attempt is worth retrying: no answer at all
// (timeout, network error), 408, 429 and 5xx. Local problems (no secret yet) are
// retried too, so an operator can fix them within the schedule.
func retryable(status int, code string) bool {
	switch {
	case status == 0:
		return code != "invalid_url" && code != "invalid_event"
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return true
	}
	return false
}

// parseRetryAfter reads delay-seconds or an HTTP-date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// transportCode names a failure to get an answer, without its text (which can quote
// the URL).
func transportCode(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "network"
}
