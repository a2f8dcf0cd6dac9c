// Package linktest drives a Link session without a browser, over plain HTTP, the way
// the Link page script does: open the Link URL from a linkToken, read the page secret,
// call the page's JSON endpoints, and for OAuth integrations follow the consent page of
// a simulated exchange (exchangesim) and the callback. End-to-end tests use it to
// connect accounts through the real server.
package linktest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link"
)

// PageSecretHeader is the header the Link page's JSON calls carry.
const PageSecretHeader = "X-Link-Page"

// Page is an opened Link session.
type Page struct {
	client *http.Client
	base   string // scheme://host of the Link server
	secret string
	// Boot is the page's boot data (integrations, options, messages...).
	Boot Boot
}

// Boot is the part of the page's boot data a driver needs.
type Boot struct {
	Secret       string                `json:"secret"`
	Lang         string                `json:"lang"`
	Theme        string                `json:"theme"`
	Permission   string                `json:"permission"`
	Options      linkvault.LinkOptions `json:"options"`
	Integrations []struct {
		Type     string                        `json:"type"`
		Name     string                        `json:"name"`
		AuthKind string                        `json:"authKind"`
		APIKey   *linkvault.APIKeyInstructions `json:"apiKey"`
	} `json:"integrations"`
	Outcome *link.Outcome `json:"outcome"`
}

// APIError is an envelope error answered by a Link endpoint.
type APIError struct {
	HTTPStatus int
	Status     string
	ErrorType  string
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("link: %d %s/%s: %s", e.HTTPStatus, e.Status, e.ErrorType, e.Message)
}

// ErrExpired is returned by Open for a Link URL that expired or was already used.
var ErrExpired = errors.New("linktest: the Link session expired or was already used")

// noRedirects returns a client sharing c's transport that never follows redirects.
func noRedirects(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// DecodeLinkToken returns the Link URL inside a linkToken.
func DecodeLinkToken(linkToken string) (*url.URL, error) {
	raw, err := base64.StdEncoding.DecodeString(linkToken)
	if err != nil {
		return nil, fmt.Errorf("linktest: linkToken is not base64: %w", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("linktest: linkToken is not an absolute http(s) URL")
	}
	return u, nil
}

var bootPattern = regexp.MustCompile(`data-boot="([^"]*)"`)

// Open loads the Link page of linkToken (consuming the session) and reads its page
// secret. client may be nil (http.DefaultClient's transport).
func Open(ctx context.Context, client *http.Client, linkToken string) (*Page, error) {
	u, err := DecodeLinkToken(linkToken)
	if err != nil {
		return nil, err
	}
	p := &Page{client: noRedirects(client), base: u.Scheme + "://" + u.Host}
	body, code, err := p.get(ctx, u.String())
	if err != nil {
		return nil, err
	}
	if code == http.StatusGone {
		return nil, ErrExpired
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("linktest: Link page answered %d", code)
	}
	if err := p.readBoot(body); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Page) readBoot(page []byte) error {
	m := bootPattern.FindSubmatch(page)
	if m == nil {
		return errors.New("linktest: no boot data in the Link page")
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &p.Boot); err != nil {
		return fmt.Errorf("linktest: boot data: %w", err)
	}
	if p.Boot.Secret == "" {
		return errors.New("linktest: no page secret in the Link page")
	}
	p.secret = p.Boot.Secret
	return nil
}

func (p *Page) get(ctx context.Context, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return b, resp.StatusCode, err
}

// Call makes one of the page's JSON calls (method, path such as "/link/api/tokens")
// and decodes the envelope's content into out (which may be nil). An envelope error is
// an *APIError.
func (p *Page) Call(ctx context.Context, method, path string, body, out any) error {
	_, err := p.call(ctx, method, path, body, out)
	return err
}

// call is Call that also returns the cookies the answer set.
func (p *Page) call(ctx context.Context, method, path string, body, out any) ([]*http.Cookie, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set(PageSecretHeader, p.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var env struct {
		Status         string          `json:"status"`
		Message        string          `json:"message"`
		DisplayMessage *string         `json:"displayMessage"`
		ErrorType      string          `json:"errorType"`
		Content        json.RawMessage `json:"content"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&env); err != nil {
		return nil, fmt.Errorf("linktest: %s %s: answer is not an envelope (HTTP %d)", method, path, resp.StatusCode)
	}
	if env.Status != "ok" {
		return resp.Cookies(), &APIError{HTTPStatus: resp.StatusCode, Status: env.Status, ErrorType: env.ErrorType, Message: env.Message}
	}
	if out != nil {
		return resp.Cookies(), json.Unmarshal(env.Content, out)
	}
	return resp.Cookies(), nil
}

// Known validates stored tokenIds as a return user's app would pass them in.
func (p *Page) Known(ctx context.Context, tokenIDs ...string) ([]link.Known, error) {
	refs := make([]link.TokenRef, len(tokenIDs))
	for i, id := range tokenIDs {
		refs[i] = link.TokenRef{AccessToken: id}
	}
	var out struct {
		Connections []link.Known `json:"connections"`
	}
	err := p.Call(ctx, http.MethodPost, "/link/api/tokens", map[string]any{"accessTokens": refs}, &out)
	return out.Connections, err
}

// StartOAuth begins an OAuth flow (popup mode, as the script does inside an iframe) and
// returns the provider's consent URL. tokenID re-authenticates that connection.
func (p *Page) StartOAuth(ctx context.Context, brokerType, tokenID string) (string, error) {
	var out struct {
		AuthURL string `json:"authUrl"`
	}
	err := p.Call(ctx, http.MethodPost, "/link/api/oauth/start",
		map[string]any{"brokerType": brokerType, "tokenId": tokenID, "mode": link.ModePopup}, &out)
	return out.AuthURL, err
}

// StartOAuthRedirect begins an OAuth flow in redirect mode, as the script does in a
// native SDK's WebView or when Link runs top-level, and returns the consent URL and
// the resume cookie the answer sets: the browser that ran the page presents it at the
// callback (FollowCallbackIn), any other browser does not (FollowCallback).
func (p *Page) StartOAuthRedirect(ctx context.Context, brokerType, tokenID string) (string, *http.Cookie, error) {
	var out struct {
		AuthURL string `json:"authUrl"`
	}
	cookies, err := p.call(ctx, http.MethodPost, "/link/api/oauth/start",
		map[string]any{"brokerType": brokerType, "tokenId": tokenID, "mode": link.ModeRedirect}, &out)
	if err != nil {
		return "", nil, err
	}
	for _, c := range cookies {
		if strings.HasPrefix(c.Name, "lv_resume_") {
			return out.AuthURL, c, nil
		}
	}
	return out.AuthURL, nil, errors.New("linktest: redirect-mode start set no resume cookie")
}

// FollowCallbackIn loads the OAuth callback URL in the browser that ran the Link page
// (it presents the resume cookie). When the callback renders the Link page again, the
// page's new secret replaces the old one and its boot data is read; the HTTP status,
// the body and the cookies the answer set are returned.
func (p *Page) FollowCallbackIn(ctx context.Context, callbackURL string, resume *http.Cookie) (int, []byte, []*http.Cookie, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, callbackURL, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if resume != nil {
		req.AddCookie(&http.Cookie{Name: resume.Name, Value: resume.Value})
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	if resp.StatusCode == http.StatusOK && bootPattern.Match(body) {
		if err := p.readBoot(body); err != nil {
			return 0, nil, nil, err
		}
	}
	return resp.StatusCode, body, resp.Cookies(), nil
}

// FollowCallback loads the OAuth callback URL the provider redirected to, as the
// popup would, and returns the HTTP status.
func (p *Page) FollowCallback(ctx context.Context, callbackURL string) (int, error) {
	_, code, err := p.get(ctx, callbackURL)
	return code, err
}

// Status reads where the page's OAuth flow stands ("pending", "idle", "connected",
// "failed") and the outcome when finished.
func (p *Page) Status(ctx context.Context) (string, *link.Outcome, error) {
	var out struct {
		Status  string        `json:"status"`
		Outcome *link.Outcome `json:"outcome"`
	}
	err := p.Call(ctx, http.MethodGet, "/link/api/oauth/status", nil, &out)
	return out.Status, out.Outcome, err
}

// OutcomeError is a finished flow that did not connect.
type OutcomeError struct{ Outcome link.Outcome }

func (e *OutcomeError) Error() string {
	return "linktest: connection failed: " + e.Outcome.ErrorType + ": " + e.Outcome.Message
}

// ConnectOAuth runs the whole OAuth round trip against a simulated exchange: start,
// sign in on the consent page as username/password and authorize, follow the callback,
// and return the payload the page would post to the app. tokenID re-authenticates.
func (p *Page) ConnectOAuth(ctx context.Context, brokerType, username, password, tokenID string) (*link.AccessTokenPayload, error) {
	authURL, err := p.StartOAuth(ctx, brokerType, tokenID)
	if err != nil {
		return nil, err
	}
	cb, err := exchangesim.Consent(ctx, p.client, authURL, username, password, false)
	if err != nil {
		return nil, fmt.Errorf("linktest: consent: %w", err)
	}
	if !strings.HasPrefix(cb.String(), p.base+"/") {
		return nil, fmt.Errorf("linktest: the exchange redirected outside the Link server")
	}
	code, err := p.FollowCallback(ctx, cb.String())
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("linktest: OAuth callback answered %d", code)
	}
	return p.outcome(ctx)
}

func (p *Page) outcome(ctx context.Context) (*link.AccessTokenPayload, error) {
	status, o, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("linktest: no outcome after the callback (status %q)", status)
	}
	if o.Status != link.OutcomeConnected || o.Payload == nil {
		return nil, &OutcomeError{Outcome: *o}
	}
	return o.Payload, nil
}

// ConnectAPIKey connects an API-key integration with a key and secret and returns
// the payload. tokenID re-authenticates.
func (p *Page) ConnectAPIKey(ctx context.Context, brokerType, key, secret, tokenID string) (*link.AccessTokenPayload, error) {
	var res struct {
		Payload *link.AccessTokenPayload `json:"payload"`
	}
	err := p.Call(ctx, http.MethodPost, "/link/api/apikey",
		map[string]string{"brokerType": brokerType, "apiKey": key, "apiSecret": secret, "tokenId": tokenID}, &res)
	if err != nil {
		return nil, err
	}
	if res.Payload == nil {
		return nil, errors.New("linktest: API key accepted without a payload")
	}
	return res.Payload, nil
}

// CreateAPIKey does what the user of an API-key integration does before coming back to
// Link: signs in to the exchange's API Management page (the simulator's, as the boot
// data names it) and creates a key with the permissions this session's scope needs
// (withdrawals, restricted to loopback, for a write session).
func (p *Page) CreateAPIKey(ctx context.Context, brokerType, username, password string) (exchangesim.APIKey, error) {
	for _, in := range p.Boot.Integrations {
		if in.Type != brokerType || in.APIKey == nil {
			continue
		}
		perms := exchangesim.APIKeyPermissions{}
		if p.Boot.Permission == string(linkvault.PermissionWrite) {
			perms = exchangesim.APIKeyPermissions{Withdrawals: true, TrustedIPs: []string{"127.0.0.1", "::1"}}
		}
		return exchangesim.CreateKeyAtPage(ctx, nil, in.APIKey.ManageURL, username, password, perms)
	}
	return exchangesim.APIKey{}, fmt.Errorf("linktest: %s is not an API-key integration here", brokerType)
}

// Connect opens linkToken and connects brokerType as username, the whole flow in one
// call: OAuth integrations through the simulated consent page, API-key ones with a key
// created on the simulated API Management page. client may be nil.
func Connect(ctx context.Context, client *http.Client, linkToken, brokerType, username, password string) (*link.AccessTokenPayload, error) {
	p, err := Open(ctx, client, linkToken)
	if err != nil {
		return nil, err
	}
	for _, in := range p.Boot.Integrations {
		if in.Type == brokerType && in.AuthKind == string(linkvault.AuthAPIKey) {
			k, err := p.CreateAPIKey(ctx, brokerType, username, password)
			if err != nil {
				return nil, err
			}
			return p.ConnectAPIKey(ctx, brokerType, k.Key, k.Secret, "")
		}
	}
	return p.ConnectOAuth(ctx, brokerType, username, password, "")
}
