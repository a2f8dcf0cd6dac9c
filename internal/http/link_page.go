package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/link"
)

// view is how the app asked the Link page to look: lng, fiatCur, th and rt. The page's
// boot data carries it under the JSON names below.
type view struct {
	Lang       string `json:"lang"`       // a catalog language (default en)
	FiatCur    string `json:"fiatCur"`    // ISO 4217 code (default USD)
	Theme      string `json:"theme"`      // light | dark | system
	RenderType string `json:"renderType"` // overlay | embedded
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// parseView reads the display parameters, replacing anything unknown by its default.
func (ui *linkUI) parseView(q url.Values) view {
	v := view{Lang: "en", FiatCur: "USD", Theme: "system", RenderType: "overlay"}
	if lng := strings.ToLower(q.Get("lng")); lng != "" {
		base, _, _ := strings.Cut(strings.ReplaceAll(lng, "_", "-"), "-")
		if _, ok := ui.catalogs[lng]; ok {
			v.Lang = lng
		} else if _, ok := ui.catalogs[base]; ok {
			v.Lang = base
		}
	}
	if c := strings.ToUpper(q.Get("fiatCur")); currencyPattern.MatchString(c) {
		v.FiatCur = c
	}
	switch th := q.Get("th"); th {
	case "light", "dark", "system":
		v.Theme = th
	}
	if q.Get("rt") == "embedded" {
		v.RenderType = "embedded"
	}
	return v
}

// query is the view as a query string (kept across a full-page OAuth redirect).
func (v view) query() string {
	return url.Values{"lng": {v.Lang}, "fiatCur": {v.FiatCur}, "th": {v.Theme}, "rt": {v.RenderType}}.Encode()
}

// linkBoot is the data the page script starts from (on <body data-boot>).
type linkBoot struct {
	Secret        string                  `json:"secret"`
	view                                  // lang, fiatCur, theme, renderType
	Permission    linkvault.Permission    `json:"permission"`
	Options       linkvault.LinkOptions   `json:"options"`
	Integrations  []linkvault.Integration `json:"integrations"`
	Messages      map[string]string       `json:"messages"`
	Outcome       *link.Outcome           `json:"outcome,omitempty"`
	ReauthTokenID string                  `json:"reauthTokenId,omitempty"`
	// App is the client the user connects to: its name and logo (the first screen).
	App bootApp `json:"app"`
	// AllowedOrigins are the origins the page may talk to when framed ("*": any).
	AllowedOrigins []string `json:"allowedOrigins"`
}

// bootApp names the client application on the Link page.
type bootApp struct {
	Name string `json:"name"`
	Logo string `json:"logo,omitempty"`
}

// pageOrigins is the part of a client's stored allowed origins the Link page uses: each
// one clients.ParseOrigin accepts as it is. Settings are checked when they are set;
// this keeps a row written otherwise (an older release accepted ";" and "," in a host)
// from putting policy text into the page's Content-Security-Policy header.
func pageOrigins(stored []string) []string {
	origins := []string{}
	for _, o := range stored {
		if n, err := clients.ParseOrigin(o); err == nil && n == o {
			origins = append(origins, o)
		}
	}
	return origins
}

// frameAncestors is the CSP frame-ancestors source list of a client's allowed origins:
// 'none' when it has none, * only when the operator set it.
func frameAncestors(origins []string) string {
	if len(origins) == 0 {
		return "'none'"
	}
	if slices.Contains(origins, "*") {
		return "*"
	}
	return strings.Join(origins, " ")
}

// setPageCSP sets the Link page's Content-Security-Policy with the client's
// frame-ancestors.
func setPageCSP(h http.Header, origins []string) {
	h.Set("Content-Security-Policy", linkCSPBase+"frame-ancestors "+frameAncestors(origins))
}

// handlePage is GET /link/{session}: it consumes the session (single use) and renders
// the Link page with a fresh page secret. A used, expired or unknown session gets the
// "expired" screen.
func (ui *linkUI) handlePage(w http.ResponseWriter, r *http.Request) {
	setLinkHeaders(w.Header())
	v := ui.parseView(r.URL.Query())
	if ui.svc == nil {
		ui.renderMessage(w, r, http.StatusNotFound, v, msgExpired)
		return
	}
	if r.Method == http.MethodHead {
		ui.headPage(w, r, v)
		return
	}
	page, err := ui.svc.Open(r.Context(), r.PathValue("session"))
	if err != nil {
		ui.renderFailure(w, r, v, err, "link page failed", linkvault.ErrTypeLinkTokenInvalid, http.StatusGone, msgExpired)
		return
	}
	ui.renderPage(w, r, v, page.Session, page.Secret, nil, "")
}

// headPage answers HEAD /link/{session} with the status and headers a GET would get,
// without opening the session: a HEAD answer carries no page (and so no page secret),
// so it must not use up the single-use link (link checkers and previewers send HEAD).
func (ui *linkUI) headPage(w http.ResponseWriter, r *http.Request, v view) {
	sess, err := ui.svc.Peek(r.Context(), r.PathValue("session"))
	if err != nil {
		ui.renderFailure(w, r, v, err, "link page failed", linkvault.ErrTypeLinkTokenInvalid, http.StatusGone, msgExpired)
		return
	}
	client, err := ui.svc.Client(r.Context(), sess.ClientID)
	if err != nil {
		ui.s.log.ErrorContext(r.Context(), "link page client", "error", err)
		ui.renderMessage(w, r, http.StatusInternalServerError, v, msgGeneric)
		return
	}
	setPageCSP(w.Header(), pageOrigins(client.AllowedOrigins))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
}

func (ui *linkUI) renderPage(w http.ResponseWriter, r *http.Request, v view, sess *linkvault.LinkSession, secret linkvault.Secret, outcome *link.Outcome, reauthTokenID string) {
	msgs := ui.catalogs[v.Lang]
	client, err := ui.svc.Client(r.Context(), sess.ClientID)
	if err != nil {
		ui.s.log.ErrorContext(r.Context(), "link page client", "error", err)
		code := http.StatusInternalServerError
		if linkvault.IsUnavailable(err) {
			code = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", strconv.Itoa(int(linkvault.UnavailableRetryAfter.Seconds())))
		}
		ui.renderMessage(w, r, code, v, msgGeneric)
		return
	}
	origins := pageOrigins(client.AllowedOrigins)
	boot, err := json.Marshal(linkBoot{
		Secret: secret.Reveal(), view: v,
		Permission: sess.Permission, Options: sess.Options, Integrations: ui.svc.Integrations(sess),
		Messages: msgs, Outcome: outcome, ReauthTokenID: reauthTokenID,
		App: bootApp{Name: client.Name, Logo: client.Logo}, AllowedOrigins: origins,
	})
	if err != nil {
		ui.s.log.ErrorContext(r.Context(), "link page boot data", "error", err)
		ui.renderMessage(w, r, http.StatusInternalServerError, v, msgGeneric)
		return
	}
	setPageCSP(w.Header(), origins)
	ui.render(w, r, http.StatusOK, "link.html", map[string]any{
		"Lang": v.Lang, "Theme": v.Theme, "RenderType": v.RenderType, "Boot": string(boot),
		"Title": msgs["title"], "Close": msgs["close"], "Loading": msgs["loading"], "Modules": ui.modules,
	})
}

// message is a page with one message: its kind ("expired", "error") and the catalog
// keys of its heading and text.
type message struct{ kind, headingKey, textKey string }

var (
	msgExpired      = message{"expired", "expiredTitle", "expiredHint"}
	msgStateInvalid = message{"error", "errorTitle", "err.oauthStateInvalid"}
	msgGeneric      = message{"error", "errorTitle", "err.generic"}
)

// renderMessage renders a page with one message and no script (expired link, errors).
func (ui *linkUI) renderMessage(w http.ResponseWriter, r *http.Request, code int, v view, m message) {
	msgs := ui.catalogs[v.Lang]
	ui.render(w, r, code, "status.html", map[string]any{
		"Page": "message", "Lang": v.Lang, "Theme": v.Theme, "Kind": m.kind, "Heading": msgs[m.headingKey], "Text": msgs[m.textKey], "Close": msgs["close"],
	})
}

// renderFailure answers a page request that failed with err: the failure the page
// expects (errorType expected) with its own message and code, anything else logged
// (logMsg) and shown as the generic error.
func (ui *linkUI) renderFailure(w http.ResponseWriter, r *http.Request, v view, err error, logMsg, expected string, code int, m message) {
	if linkvault.ErrorType(err) == expected {
		ui.renderMessage(w, r, code, v, m)
		return
	}
	ui.s.log.ErrorContext(r.Context(), logMsg, "route", r.Pattern, "error", err)
	ui.renderMessage(w, r, http.StatusInternalServerError, v, msgGeneric)
}

func (ui *linkUI) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := ui.pages.ExecuteTemplate(&buf, name, data); err != nil {
		ui.s.log.ErrorContext(r.Context(), "link template failed", "template", name, "error", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
