package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/linkvault/linkvault"
)

// maxResponseBytes bounds how much of any upstream answer an adapter reads.
const maxResponseBytes = 4 << 20

// caller is the HTTP side every adapter shares: one http.Client with an overall timeout,
// a bounded number of requests in flight, bounded reads, classification of every
// failure into a *linkvault.ProviderError, and a rate gate: once the exchange answers
// 429 or 418 with a Retry-After, no request leaves for that exchange until the time is
// up (Binance bans an IP that keeps calling after a 429; Uphold limits per IP).
type caller struct {
	broker linkvault.BrokerType
	client *http.Client
	slots  chan struct{}
	now    func() time.Time
	log    *slog.Logger

	// gate, when true, makes a rate-limit answer pause every request of this adapter.
	gate bool
	mu   sync.Mutex
	// blockedUntil is when the exchange said we may call again (zero: not blocked).
	blockedUntil time.Time
	// onResponse, when set, sees every response's headers (rate-limit accounting).
	onResponse func(h http.Header, now time.Time)
}

func newCaller(b linkvault.BrokerType, cfg Config, d Deps) *caller {
	return &caller{
		broker: b,
		client: &http.Client{
			Timeout:   cfg.Timeout,
			Transport: d.Transport,
			// Redirects of API calls are not followed: a provider redirecting an API
			// call elsewhere would carry the credential with it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		slots: make(chan struct{}, cfg.MaxInFlight),
		now:   d.Now,
		log:   d.Logger.With("broker", string(b)),
	}
}

// acquire waits for a free in-flight slot, honouring ctx.
func (c *caller) acquire(ctx context.Context, op string) (release func(), err error) {
	select {
	case c.slots <- struct{}{}:
		return func() { <-c.slots }, nil
	case <-ctx.Done():
		return nil, classifyTransport(c.broker, op, ctx.Err())
	}
}

// pauseUntil closes the gate until t (keeping a later time already set).
func (c *caller) pauseUntil(t time.Time) {
	c.mu.Lock()
	if t.After(c.blockedUntil) {
		c.blockedUntil = t
	}
	c.mu.Unlock()
}

// gated reports the wait left before the exchange may be called again.
func (c *caller) gated() time.Duration {
	if !c.gate {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blockedUntil.IsZero() {
		return 0
	}
	left := c.blockedUntil.Sub(c.now())
	if left <= 0 {
		c.blockedUntil = time.Time{}
		return 0
	}
	return left
}

// oauthContext makes golang.org/x/oauth2 use the caller's client.
func (c *caller) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.client)
}

// apiResponse is a successful (2xx) answer.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorParser reads an error answer of one exchange: its error code (kept only if it
// is a known one) and, when the exchange's rules say so, the kind of failure (0 lets
// classifyStatus decide from the status and the code).
type errorParser func(status int, h http.Header, body []byte) (code string, kind linkvault.ProviderErrorKind)

// codeOnly adapts a body-only code extractor to an errorParser.
func codeOnly(f func([]byte) string) errorParser {
	return func(_ int, _ http.Header, body []byte) (string, linkvault.ProviderErrorKind) { return f(body), 0 }
}

// do sends req (with a slot held) and returns the 2xx answer or a classified error.
func (c *caller) do(ctx context.Context, op string, req *http.Request, parse errorParser) (*apiResponse, error) {
	if wait := c.gated(); wait > 0 {
		return nil, &linkvault.ProviderError{Broker: c.broker, Op: op, Kind: linkvault.ProviderTransient,
			Code: "rate_limited", RetryAfter: wait.Round(time.Second) + time.Second}
	}
	release, err := c.acquire(ctx, op)
	if err != nil {
		return nil, err
	}
	defer release()
	resp, err := c.client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, classifyTransport(c.broker, op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, classifyTransport(c.broker, op, err)
	}
	now := c.now()
	if c.onResponse != nil {
		c.onResponse(resp.Header, now)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		code, kind := "", linkvault.ProviderErrorKind(0)
		if parse != nil && len(body) <= maxResponseBytes {
			code, kind = parse(resp.StatusCode, resp.Header, body)
			code = sanitizeCode(code)
		}
		pe := classifyStatus(c.broker, op, resp.StatusCode, resp.Header, code, now)
		if kind != 0 {
			pe.Kind = kind
		}
		if pe.Kind == linkvault.ProviderTransient && pe.RetryAfter > 0 &&
			(resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == 418) {
			c.pauseUntil(now.Add(pe.RetryAfter))
		}
		c.log.DebugContext(ctx, "provider call failed", "op", op, "status", resp.StatusCode, "code", pe.Code, "kind", pe.Kind.String())
		return nil, pe
	}
	if len(body) > maxResponseBytes {
		return nil, &linkvault.ProviderError{Broker: c.broker, Op: op, Kind: linkvault.ProviderTransient, StatusCode: resp.StatusCode, Code: "response_too_large"}
	}
	return &apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// request builds a request. body may be nil, url.Values (form), []byte (sent as is,
// form-encoded) or anything else (JSON).
func (c *caller) request(method, rawURL string, body any) (*http.Request, error) {
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case formBody:
		rd, contentType = strings.NewReader(string(b)), "application/x-www-form-urlencoded"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, contentType = bytes.NewReader(buf), "application/json"
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// formBody is an already-encoded application/x-www-form-urlencoded body, sent byte for
// byte (a signature may cover it).
type formBody string

// call builds and sends a request; authorize adds the credential.
func (c *caller) call(ctx context.Context, op, method, rawURL string, body any, authorize func(*http.Request), parse errorParser) (*apiResponse, error) {
	req, err := c.request(method, rawURL, body)
	if err != nil {
		// Only our own inputs (a malformed configured URL) get here.
		return nil, &linkvault.ProviderError{Broker: c.broker, Op: op, Kind: linkvault.ProviderRejected, Code: "bad_request", Err: err}
	}
	if authorize != nil {
		authorize(req)
	}
	return c.do(ctx, op, req, parse)
}

// bearer returns an authorize func setting an RFC 6750 bearer token.
func bearer(token linkvault.Secret) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token.Reveal()) }
}

// decode parses a 2xx body with parse, mapping failure to invalid_response.
func decode[T any](c *caller, op string, resp *apiResponse, parse func([]byte) (T, error)) (T, error) {
	v, err := parse(resp.Body)
	if err != nil {
		var zero T
		return zero, invalidResponse(c.broker, op, resp.Status)
	}
	return v, nil
}

// decoded is decode for the answer of one call, written around the call:
// decoded(p.http, op, parse)(p.get(...)) parses a successful answer and passes the
// call's own error on unchanged.
func decoded[T any](c *caller, op string, parse func([]byte) (T, error)) func(*apiResponse, error) (T, error) {
	return func(resp *apiResponse, err error) (T, error) {
		if err != nil {
			var zero T
			return zero, err
		}
		return decode(c, op, resp, parse)
	}
}

// serverTime is the time the exchange stamped on an answer (its Date header, RFC 9110
// section 6.6.1), or now when it sent none.
func serverTime(h http.Header, now time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t.UTC()
	}
	return now.UTC()
}
