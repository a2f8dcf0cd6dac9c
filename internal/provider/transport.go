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
	"time"

	"golang.org/x/oauth2"

	"github.com/linkvault/linkvault"
)

// maxResponseBytes bounds how much of any upstream answer an adapter reads.
const maxResponseBytes = 1 << 20

// caller is the HTTP side every adapter shares: one http.Client with an overall timeout,
// a bounded number of requests in flight, bounded reads, and classification of every
// failure into a *linkvault.ProviderError.
type caller struct {
	broker linkvault.BrokerType
	client *http.Client
	slots  chan struct{}
	now    func() time.Time
	log    *slog.Logger
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

// errorCodeFunc extracts the provider's error code from an error body ("" if none).
type errorCodeFunc func(body []byte) string

// do sends req (with a slot held) and returns the 2xx answer or a classified error.
func (c *caller) do(ctx context.Context, op string, req *http.Request, codeOf errorCodeFunc) (*apiResponse, error) {
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
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		code := ""
		if codeOf != nil && len(body) <= maxResponseBytes {
			code = sanitizeCode(codeOf(body))
		}
		pe := classifyStatus(c.broker, op, resp.StatusCode, resp.Header, code, c.now())
		c.log.Debug("provider call failed", "op", op, "status", resp.StatusCode, "code", pe.Code, "kind", pe.Kind.String())
		return nil, pe
	}
	if len(body) > maxResponseBytes {
		return nil, &linkvault.ProviderError{Broker: c.broker, Op: op, Kind: linkvault.ProviderTransient, StatusCode: resp.StatusCode, Code: "response_too_large"}
	}
	return &apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// request builds a request. body may be nil, url.Values (form) or anything else (JSON).
func (c *caller) request(method, rawURL string, body any) (*http.Request, error) {
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
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

// call builds and sends a request; authorize adds the credential.
func (c *caller) call(ctx context.Context, op, method, rawURL string, body any, authorize func(*http.Request), codeOf errorCodeFunc) (*apiResponse, error) {
	req, err := c.request(method, rawURL, body)
	if err != nil {
		// Only our own inputs (a malformed configured URL) get here.
		return nil, &linkvault.ProviderError{Broker: c.broker, Op: op, Kind: linkvault.ProviderRejected, Code: "bad_request", Err: err}
	}
	if authorize != nil {
		authorize(req)
	}
	return c.do(ctx, op, req, codeOf)
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
