// Package webapp is a small example application built on linkvault, the way a real
// app would use it: its backend holds the API key and asks linkvault for linkTokens;
// its page opens Link with the web SDK (loaded from the linkvault server), stores the
// tokenIds of connected accounts server-side per user and broker type, and on a return
// visit passes them back into Link so the user lands in the account without signing in
// to the exchange again. It also shows holdings through the REST API and removes
// connections.
//
// Sign-in is a name only (no real authentication): it is a demo of the token flow, not
// of user management. `linkvault demo` mounts it.
package webapp

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

//go:embed static templates
var files embed.FS

// Config configures the example app.
type Config struct {
	// LinkvaultURL is linkvault's base URL as the browser reaches it (the SDK is loaded
	// from LinkvaultURL + "/sdk/link.js").
	LinkvaultURL string
	// APIURL is the base URL the app's backend calls; empty means LinkvaultURL.
	APIURL string
	// ClientID and ClientSecret are the app's linkvault API key. The secret stays in
	// the backend.
	ClientID     string
	ClientSecret linkvault.Secret
	// StorePath is a JSON file keeping the stored tokenIds across restarts; empty keeps
	// them in memory.
	StorePath string
	// HTTPClient calls linkvault (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// App is the example application's HTTP handler.
type App struct {
	cfg    Config
	lvURL  string
	apiURL string
	http   *http.Client
	log    *slog.Logger
	store  *tokenStore
	pages  *template.Template
	static fs.FS
	csp    string
	mux    *http.ServeMux
}

// New returns the example app.
func New(cfg Config) (*App, error) {
	lv, err := baseURL(cfg.LinkvaultURL)
	if err != nil {
		return nil, fmt.Errorf("webapp: LinkvaultURL: %w", err)
	}
	api := lv
	if cfg.APIURL != "" {
		if api, err = baseURL(cfg.APIURL); err != nil {
			return nil, fmt.Errorf("webapp: APIURL: %w", err)
		}
	}
	if cfg.ClientID == "" || cfg.ClientSecret.IsZero() {
		return nil, errors.New("webapp: ClientID and ClientSecret are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := openTokenStore(cfg.StorePath)
	if err != nil {
		return nil, err
	}
	pages, err := template.ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	static, _ := fs.Sub(files, "static")
	a := &App{
		cfg: cfg, lvURL: lv, apiURL: api, http: cfg.HTTPClient, log: cfg.Logger, store: st, pages: pages, static: static,
		csp: "default-src 'none'; script-src 'self' " + lv + "; connect-src 'self'; style-src 'self'; img-src 'self' data: " + lv +
			"; frame-src " + lv + "; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
		mux: http.NewServeMux(),
	}
	a.mux.HandleFunc("GET /{$}", a.handleHome)
	a.mux.HandleFunc("POST /signin", a.handleSignIn)
	a.mux.HandleFunc("POST /signout", a.handleSignOut)
	a.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(a.static)))
	a.mux.HandleFunc("POST /api/linktoken", a.api(a.handleLinkToken))
	a.mux.HandleFunc("GET /api/connections", a.api(a.handleConnections))
	a.mux.HandleFunc("POST /api/connections", a.api(a.handleStore))
	a.mux.HandleFunc("POST /api/holdings", a.api(a.handleHoldings))
	a.mux.HandleFunc("POST /api/disconnect", a.api(a.handleDisconnect))
	return a, nil
}

func baseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("need an absolute http(s) URL, got %q", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", a.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	a.mux.ServeHTTP(w, r)
}

const userCookie = "webapp_user"

func currentUser(r *http.Request) string {
	c, err := r.Cookie(userCookie)
	if err != nil {
		return ""
	}
	name, err := url.QueryUnescape(c.Value)
	if err != nil || validName(name) != nil {
		return ""
	}
	return name
}

func validName(name string) error {
	if strings.TrimSpace(name) == "" || len([]rune(name)) > 64 {
		return errors.New("name must be 1-64 characters")
	}
	return nil
}

func (a *App) handleHome(w http.ResponseWriter, r *http.Request) {
	user := currentUser(r)
	page := "signin.html"
	if user != "" {
		page = "app.html"
	}
	var buf bytes.Buffer
	if err := a.pages.ExecuteTemplate(&buf, page, map[string]string{"User": user, "LinkvaultURL": a.lvURL}); err != nil {
		a.log.Error("webapp: template", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (a *App) handleSignIn(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if err := validName(name); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: userCookie, Value: url.QueryEscape(name), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) handleSignOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: userCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// api wraps the page's JSON calls: signed-in user, JSON content type on writes (which
// a cross-site form cannot send), JSON answers.
func (a *App) api(h func(r *http.Request, user string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := currentUser(r)
		if user == "" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first"})
			return
		}
		if r.Method == http.MethodPost {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "JSON only"})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
		}
		out, err := h(r, user)
		if err != nil {
			var ue *upstreamError
			if errors.As(err, &ue) {
				writeJSON(w, http.StatusBadGateway, map[string]any{"error": ue.Message, "errorType": ue.ErrorType, "status": ue.Status})
				return
			}
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *App) handleLinkToken(r *http.Request, user string) (any, error) {
	var content struct {
		LinkToken string `json:"linkToken"`
	}
	if err := a.call(r.Context(), http.MethodPost, "/api/v1/linktoken", map[string]any{"userId": user}, &content); err != nil {
		return nil, err
	}
	return content, nil
}

// connectionView is a stored connection as the page shows it.
type connectionView struct {
	storedConnection
	BrokerType string `json:"brokerType"`
}

func (a *App) handleConnections(r *http.Request, user string) (any, error) {
	out := []connectionView{}
	for bt, c := range a.store.list(user) {
		out = append(out, connectionView{storedConnection: c, BrokerType: bt})
	}
	sortViews(out)
	return map[string]any{"connections": out}, nil
}

// handleStore keeps the tokenId of a payload the page got from onIntegrationConnected.
func (a *App) handleStore(r *http.Request, user string) (any, error) {
	var p struct {
		BrokerType    string `json:"brokerType"`
		BrokerName    string `json:"brokerName"`
		AccountTokens []struct {
			TokenID string `json:"tokenId"`
			Account struct {
				AccountName string `json:"accountName"`
			} `json:"account"`
		} `json:"accountTokens"`
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		return nil, errors.New("invalid payload")
	}
	if len(p.AccountTokens) == 0 || p.AccountTokens[0].TokenID == "" || p.BrokerType == "" {
		return nil, errors.New("payload has no tokenId")
	}
	at := p.AccountTokens[0]
	c := storedConnection{TokenID: at.TokenID, BrokerName: p.BrokerName, AccountName: at.Account.AccountName, ConnectedAt: time.Now().UTC()}
	if err := a.store.put(user, p.BrokerType, c); err != nil {
		return nil, err
	}
	return map[string]bool{"stored": true}, nil
}

func (a *App) stored(r *http.Request, user string) (string, storedConnection, error) {
	var req struct {
		BrokerType string `json:"brokerType"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return "", storedConnection{}, errors.New("invalid request")
	}
	c, ok := a.store.get(user, req.BrokerType)
	if !ok {
		return "", storedConnection{}, errors.New("no such connection")
	}
	return req.BrokerType, c, nil
}

func (a *App) handleHoldings(r *http.Request, user string) (any, error) {
	bt, c, err := a.stored(r, user)
	if err != nil {
		return nil, err
	}
	var holdings json.RawMessage
	if err := a.call(r.Context(), http.MethodPost, "/api/v1/holdings/get", map[string]string{"authToken": c.TokenID, "type": bt}, &holdings); err != nil {
		return nil, err
	}
	return holdings, nil
}

func (a *App) handleDisconnect(r *http.Request, user string) (any, error) {
	bt, c, err := a.stored(r, user)
	if err != nil {
		return nil, err
	}
	err = a.call(r.Context(), http.MethodDelete, "/api/v1/account", map[string]string{"authToken": c.TokenID, "type": bt}, nil)
	var ue *upstreamError
	if err != nil && !(errors.As(err, &ue) && ue.Status == linkvault.StatusNotFound) {
		return nil, err
	}
	if err := a.store.remove(user, bt); err != nil {
		return nil, err
	}
	return map[string]bool{"removed": true}, nil
}

// upstreamError is an envelope error from linkvault.
type upstreamError struct {
	HTTPStatus int
	Status     string
	ErrorType  string
	Message    string
}

func (e *upstreamError) Error() string { return "linkvault: " + e.Status + ": " + e.Message }

// call makes one linkvault API call with the app's key and decodes content into out.
func (a *App) call(ctx context.Context, method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, a.apiURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Id", a.cfg.ClientID)
	req.Header.Set("X-Client-Secret", a.cfg.ClientSecret.Reveal())
	resp, err := a.http.Do(req)
	if err != nil {
		return &upstreamError{Status: "unreachable", Message: "linkvault is not reachable"}
	}
	defer resp.Body.Close()
	var env struct {
		Status    string          `json:"status"`
		Message   string          `json:"message"`
		ErrorType string          `json:"errorType"`
		Content   json.RawMessage `json:"content"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&env); err != nil {
		return &upstreamError{HTTPStatus: resp.StatusCode, Status: "invalidResponse", Message: "linkvault answered without an envelope"}
	}
	if env.Status != linkvault.StatusOK {
		return &upstreamError{HTTPStatus: resp.StatusCode, Status: env.Status, ErrorType: env.ErrorType, Message: env.Message}
	}
	if out != nil {
		return json.Unmarshal(env.Content, out)
	}
	return nil
}
