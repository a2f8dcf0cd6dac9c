package http

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/web"
)

// The Link UI: the page an app opens from a linkToken (GET /link/{session}), its
// static assets, the JSON calls its script makes with the page secret, the OAuth
// callback, and the web SDK. Handlers are in link_page.go, link_api.go,
// link_oauth.go, link_assets.go and linktoken.go.

// linkCSPBase is the Content-Security-Policy of every Link response but its
// frame-ancestors: nothing but this server's own scripts, styles, images and XHR.
const linkCSPBase = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; "

// linkCSP is the policy of the Link responses that hold nothing of a session (assets,
// the expired and error pages, JSON answers): any site may frame them, so an app
// shows "link expired" in its own frame. The Link page itself is framed only by its
// client's allowed origins (setPageCSP).
const linkCSP = linkCSPBase + "frame-ancestors *"

// PageSecretHeader carries the page secret on the Link page's JSON calls (cookies are
// unreliable inside third-party iframes; a custom header also rules out CSRF).
const PageSecretHeader = "X-Link-Page"

// linkUI holds what the Link handlers share: the service, parsed templates, message
// catalogs and embedded files.
type linkUI struct {
	s        *Server
	svc      *link.Service
	pages    *template.Template
	catalogs map[string]map[string]string // language -> key -> text, each complete (English fills gaps)
	langs    []string
	static   fs.FS
	sdk      fs.FS
	etags    map[string]string // "static/<path>" and "sdk/<file>" -> strong ETag
	modules  []string          // URL paths of the Link page's script modules (static/lib/*.js), preloaded by link.html
}

// routeLink registers the Link endpoints.
func (s *Server) routeLink(mux *routeMux) {
	ui, err := newLinkUI(s)
	if err != nil {
		panic(err) // embedded files; TestLinkUIFilesParse keeps this unreachable
	}
	mux.Handle("POST /api/v1/linktoken", s.api(linkvault.PermissionRead, ui.handleLinkToken))
	mux.HandleFunc("GET /sdk/{file}", ui.handleSDK)
	mux.HandleFunc("GET /link/assets/{path...}", ui.handleAsset)
	mux.HandleFunc("GET /link/{session}", ui.handlePage)
	mux.HandleFunc("GET "+link.CallbackPath, ui.handleCallback)
	mux.Handle("POST /link/api/tokens", ui.pageAPI(ui.handleTokens))
	mux.Handle("POST /link/api/oauth/start", ui.pageAPI(ui.handleOAuthStart))
	mux.Handle("GET /link/api/oauth/status", ui.pageAPI(ui.handleOAuthStatus))
	mux.Handle("POST /link/api/apikey", ui.pageAPI(ui.handleAPIKey))
	mux.Handle("POST /link/api/holdings", ui.pageAPI(ui.handleHoldings))
	mux.Handle("POST /link/api/transfer/options", ui.pageAPI(ui.handleTransferOptions))
	mux.Handle("POST /link/api/transfer/preview", ui.pageAPI(ui.handleTransferPreview))
	mux.Handle("POST /link/api/transfer/execute", ui.pageAPI(ui.handleTransferExecute))
	mux.HandleFunc("/link/api/", func(w http.ResponseWriter, r *http.Request) {
		setLinkHeaders(w.Header())
		ui.s.unrouted(w, r)
	})
}

func newLinkUI(s *Server) (*linkUI, error) {
	pages, err := template.ParseFS(web.Templates(), "*.html")
	if err != nil {
		return nil, fmt.Errorf("link UI templates: %w", err)
	}
	ui := &linkUI{s: s, svc: s.deps.Link, pages: pages, static: web.Static(), sdk: web.SDK(), etags: map[string]string{}}
	if err := ui.loadCatalogs(web.Catalogs()); err != nil {
		return nil, err
	}
	for prefix, fsys := range map[string]fs.FS{"static/": ui.static, "sdk/": ui.sdk} {
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			ui.etags[prefix+p] = etag(b)
			// lib/types.js holds JSDoc type definitions only; nothing imports it at run time.
			if prefix == "static/" && path.Dir(p) == "lib" && path.Ext(p) == ".js" && p != "lib/types.js" {
				ui.modules = append(ui.modules, "/link/assets/"+p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("link UI assets: %w", err)
		}
	}
	sort.Strings(ui.modules)
	return ui, nil
}

// loadCatalogs reads <lang>.json message catalogs; every language is completed with
// the English text for keys it lacks.
func (ui *linkUI) loadCatalogs(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("link UI catalogs: %w", err)
	}
	raw := map[string]map[string]string{}
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("link UI catalog %s: %w", e.Name(), err)
		}
		raw[lang] = m
	}
	en, ok := raw["en"]
	if !ok {
		return fmt.Errorf("link UI catalogs: en.json is required")
	}
	ui.catalogs = map[string]map[string]string{}
	for lang, m := range raw {
		full := make(map[string]string, len(en))
		for k, v := range en {
			full[k] = v
		}
		for k, v := range m {
			full[k] = v
		}
		ui.catalogs[lang] = full
		ui.langs = append(ui.langs, lang)
	}
	sort.Strings(ui.langs)
	return nil
}

// setLinkHeaders sets the security headers of every Link response.
func setLinkHeaders(h http.Header) {
	h.Set("Content-Security-Policy", linkCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// pageAPI wraps a JSON endpoint of the Link page: it authenticates the page secret,
// bounds the body, and writes errors as envelopes.
func (ui *linkUI) pageAPI(h func(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setLinkHeaders(w.Header())
		if ui.svc == nil {
			writeErrorEnvelope(w, errLinkOff())
			return
		}
		sess, err := ui.svc.Authenticate(r.Context(), linkvault.NewSecret(r.Header.Get(PageSecretHeader)))
		if err != nil {
			ui.s.writeError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := h(w, r, sess); err != nil {
			ui.s.writeError(w, r, err)
		}
	})
}

func errLinkOff() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal,
		Message: "The Link UI is not configured on this server (set its public URL)."}
}

// cleanAssetPath rejects anything but a plain relative path inside the asset tree.
func cleanAssetPath(p string) (string, bool) {
	if p == "" || strings.Contains(p, "\\") || strings.HasPrefix(p, "/") {
		return "", false
	}
	c := path.Clean(p)
	if c != p || c == "." || strings.HasPrefix(c, "..") || !fs.ValidPath(c) {
		return "", false
	}
	return c, true
}
