// Package lvclient is a Go client for the linkvault REST API, which is the Mesh Connect
// managed-token contract: create Link tokens, read holdings and balances through a
// stored tokenId, preview and execute managed transfers, remove connections.
//
//	c, err := lvclient.New("https://vault.example.com", clientID, secret)
//	h, err := c.Holdings(ctx, tokenID, lvclient.Coinbase)
//	var apiErr *lvclient.APIError
//	if errors.As(err, &apiErr) && apiErr.ErrorType == lvclient.ErrReauthRequired {
//		// open Link with this tokenId in accessTokens
//	}
//
// Every call takes a context and has a default timeout. The client secret is never
// printed, logged or put into an error.
package lvclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds each call unless WithHTTPClient or WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// maxResponseBytes bounds how much of an answer the client reads.
const maxResponseBytes = 16 << 20

// Client calls one linkvault server as one client application. It is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	clientID  string
	secret    *secret // a pointer, so that printing a Client shows an address, not the secret
	http      *http.Client
	userAgent string
}

// secret is the client secret; it formats as [redacted] in every verb.
type secret string

func (secret) String() string                  { return "[redacted]" }
func (secret) GoString() string                { return "[redacted]" }
func (s secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("[redacted]")) }

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient uses hc for every call (its Timeout applies instead of DefaultTimeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithTimeout sets the timeout of every call.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		hc := *c.http
		hc.Timeout = d
		c.http = &hc
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL (e.g. "https://vault.example.com"),
// authenticating as clientID with secret (X-Client-Id / X-Client-Secret).
func New(baseURL, clientID, clientSecret string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lvclient: baseURL must be an absolute http(s) URL")
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("lvclient: clientID and secret are required")
	}
	sec := secret(clientSecret)
	c := &Client{base: u, clientID: clientID, secret: &sec,
		http: &http.Client{Timeout: DefaultTimeout}, userAgent: "linkvault-go"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// envelope is every answer's outer shape.
type envelope struct {
	Status         string          `json:"status"`
	Message        string          `json:"message"`
	DisplayMessage *string         `json:"displayMessage"`
	ErrorType      string          `json:"errorType"`
	Content        json.RawMessage `json:"content"`
}

// response is a successful answer's content and headers.
type response struct {
	content json.RawMessage
	header  http.Header
}

// do sends one call and decodes the envelope; every failure is an *APIError or a
// transport error (which never contains the secret: it does not travel in URLs).
func (c *Client) do(ctx context.Context, method, path string, body any) (*response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("lvclient: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return nil, fmt.Errorf("lvclient: %w", err)
	}
	req.Header.Set("X-Client-Id", c.clientID)
	req.Header.Set("X-Client-Secret", string(*c.secret))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lvclient: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("lvclient: %s %s: read answer: %w", method, path, err)
	}
	var env envelope
	if len(raw) > maxResponseBytes || json.Unmarshal(raw, &env) != nil || env.Status == "" {
		return nil, &APIError{HTTPStatus: res.StatusCode, Status: "", ErrorType: "",
			Message:    fmt.Sprintf("unexpected answer from %s %s (HTTP %d, not a linkvault envelope)", method, path, res.StatusCode),
			RetryAfter: retryAfter(res.Header)}
	}
	if res.StatusCode/100 != 2 || env.Status != "ok" {
		e := &APIError{HTTPStatus: res.StatusCode, Status: env.Status, ErrorType: env.ErrorType, Message: env.Message,
			RetryAfter: retryAfter(res.Header)}
		if env.DisplayMessage != nil {
			e.DisplayMessage = *env.DisplayMessage
		}
		return nil, e
	}
	return &response{content: env.Content, header: res.Header}, nil
}

// call sends one call and decodes its content into out (if non-nil).
func (c *Client) call(ctx context.Context, method, path string, body, out any) (*response, error) {
	res, err := c.do(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(res.content, out); err != nil {
			return nil, fmt.Errorf("lvclient: %s %s: decode content: %w", method, path, err)
		}
	}
	return res, nil
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// LinkTokenRequest is the body of POST /api/v1/linktoken.
type LinkTokenRequest struct {
	UserID                   string     `json:"userId"`
	RestrictMultipleAccounts bool       `json:"restrictMultipleAccounts,omitempty"`
	IntegrationID            string     `json:"integrationId,omitempty"`
	BrokerType               BrokerType `json:"brokerType,omitempty"`
}

// LinkToken is a Link session: LinkToken is what the web SDK's openLink takes (the
// base64 of URL).
type LinkToken struct {
	LinkToken string `json:"linkToken"`
	URL       string `json:"-"`
}

// CreateLinkToken starts a Link session for one of the app's users. The connections
// made in it get the permission of this client's API key as their scope.
func (c *Client) CreateLinkToken(ctx context.Context, r LinkTokenRequest) (*LinkToken, error) {
	var out LinkToken
	if _, err := c.call(ctx, http.MethodPost, "/api/v1/linktoken", r, &out); err != nil {
		return nil, err
	}
	if u, err := base64.StdEncoding.DecodeString(out.LinkToken); err == nil {
		out.URL = string(u)
	} else if u, err := base64.URLEncoding.DecodeString(out.LinkToken); err == nil {
		out.URL = string(u)
	}
	return &out, nil
}

type tokenBody struct {
	AuthToken string     `json:"authToken"`
	Type      BrokerType `json:"type"`
}

// Holdings reads the positions of the account behind tokenID, in real time.
func (c *Client) Holdings(ctx context.Context, tokenID string, b BrokerType) (*Holdings, error) {
	var out Holdings
	if _, err := c.call(ctx, http.MethodPost, "/api/v1/holdings/get", tokenBody{tokenID, b}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Balance reads the fiat balances of the account behind tokenID, in real time.
func (c *Client) Balance(ctx context.Context, tokenID string, b BrokerType) (*Balance, error) {
	var out Balance
	if _, err := c.call(ctx, http.MethodPost, "/api/v1/balance/get", tokenBody{tokenID, b}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Integrations lists the integrations the server offers.
func (c *Client) Integrations(ctx context.Context) ([]Integration, error) {
	var out struct {
		Items []Integration `json:"items"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/api/v1/integrations", nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Status reports the health of each integration.
func (c *Client) Status(ctx context.Context) ([]IntegrationStatus, error) {
	var out []IntegrationStatus
	if _, err := c.call(ctx, http.MethodGet, "/api/v1/status", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PreviewTransfer checks and quotes a transfer; the server keeps it under
// Result.PreviewID for ExecuteTransfer. Needs a write key and a write-scoped tokenId.
func (c *Client) PreviewTransfer(ctx context.Context, r TransferRequest) (*TransferPreview, error) {
	var out TransferPreview
	if _, err := c.call(ctx, http.MethodPost, "/api/v1/transfers/managed/preview", r.preview(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExecuteTransfer sends crypto from the account behind r.TokenID: it executes
// r.PreviewID, or previews r first when it has none. Needs a write key and a
// write-scoped tokenId. Executing the same preview again, or the same transfer under
// the same ClientTransactionID, never pays twice and returns the first answer, with
// Replayed set.
func (c *Client) ExecuteTransfer(ctx context.Context, r TransferRequest) (*TransferResult, error) {
	if r.PreviewID == "" {
		p, err := c.PreviewTransfer(ctx, r)
		if err != nil {
			return nil, err
		}
		r.PreviewID = p.Result.PreviewID
	}
	var out TransferResult
	body := executeBody{FromAuthToken: r.TokenID, FromType: r.Type, PreviewID: r.PreviewID, MFACode: r.MFACode}
	res, err := c.call(ctx, http.MethodPost, "/api/v1/transfers/managed/execute", body, &out)
	if err != nil {
		return nil, err
	}
	out.Replayed = res.header.Get("Idempotent-Replayed") == "true"
	return &out, nil
}

// RemoveAccount removes the connection behind tokenID for good: its credential is
// revoked at the exchange where supported and deleted; the tokenId is then unknown.
func (c *Client) RemoveAccount(ctx context.Context, tokenID string, b BrokerType) error {
	_, err := c.call(ctx, http.MethodDelete, "/api/v1/account", tokenBody{tokenID, b}, nil)
	return err
}

// TokenStatus tells whether a stored tokenId is usable or needs the user to
// re-authenticate, without calling the exchange (a linkvault extension).
func (c *Client) TokenStatus(ctx context.Context, tokenID string, b BrokerType) (*TokenStatus, error) {
	var out TokenStatus
	if _, err := c.call(ctx, http.MethodPost, "/api/v1/managed/token/get", tokenBody{tokenID, b}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
