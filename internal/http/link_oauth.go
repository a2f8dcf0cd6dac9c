package http

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/link"
)

// resumeCookiePrefix starts the name of the cookie that marks the browser running a
// Link page in redirect mode; the rest is link.ResumeKey of the attempt's state.
const resumeCookiePrefix = "lv_resume_"

// setResumeCookie hands the browser of a Link page that navigates to the exchange
// itself (redirect mode) the attempt's resume value. It is sent back only to the OAuth
// callback (Path), never to scripts (HttpOnly), on the exchange's top-level redirect
// back (SameSite=Lax), over TLS when the server is (Secure), and dies with the page.
// A native SDK's WebView keeps its own cookie jar, so the callback can tell the
// WebView (render Link again) from the system browser (the page in the app keeps
// its secret and polls for the outcome).
func (ui *linkUI) setResumeCookie(w http.ResponseWriter, key, value string, sess *linkvault.LinkSession) {
	maxAge := int(sess.ExpiresAt.Sub(ui.s.now()) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	http.SetCookie(w, &http.Cookie{
		Name: resumeCookiePrefix + key, Value: value, Path: link.CallbackPath, MaxAge: maxAge,
		HttpOnly: true, Secure: strings.HasPrefix(ui.svc.PublicURL(), "https://"), SameSite: http.SameSiteLaxMode,
	})
}

// handleCallback is the OAuth redirect URL. It does all the work without any script:
// it finds the session by state (single use), exchanges the code with the stored PKCE
// verifier and connects the account. Then:
//   - popup (or a headless client): a small page that tells its opener and closes;
//   - redirect, in the browser that ran the Link page (its resume cookie): the Link
//     page again, at the result;
//   - redirect, in any other browser (a native SDK opened the exchange in the system
//     browser): a page asking the user to return to the app, where the Link page
//     still open reads the outcome.
func (ui *linkUI) handleCallback(w http.ResponseWriter, r *http.Request) {
	setLinkHeaders(w.Header())
	q := r.URL.Query()
	v := ui.parseView(nil)
	if ui.svc == nil {
		ui.renderMessage(w, r, http.StatusNotFound, v, msgStateInvalid)
		return
	}
	state := q.Get("state")
	var resume string
	if state != "" {
		name := resumeCookiePrefix + link.ResumeKey(state)
		if c, err := r.Cookie(name); err == nil {
			resume = c.Value
			http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: link.CallbackPath, MaxAge: -1, HttpOnly: true,
				Secure: strings.HasPrefix(ui.svc.PublicURL(), "https://"), SameSite: http.SameSiteLaxMode})
		}
	}
	cb, err := ui.svc.CompleteOAuth(r.Context(), state, q.Get("code"), q.Get("error"), resume)
	if err != nil {
		ui.renderFailure(w, r, v, err, "oauth callback failed", link.ErrTypeStateInvalid, http.StatusBadRequest, msgStateInvalid)
		return
	}
	if vq, err := url.ParseQuery(cb.View); err == nil {
		v = ui.parseView(vq)
	}
	if cb.Resumed {
		ui.renderPage(w, r, v, cb.Session, cb.PageSecret, &cb.Outcome, cb.TokenID)
		return
	}
	msgs := ui.catalogs[v.Lang]
	ok := cb.Outcome.Status == link.OutcomeConnected
	data := map[string]any{"Page": "callback", "Lang": v.Lang, "Theme": v.Theme, "Status": cb.Outcome.Status, "Mode": cb.Mode}
	switch {
	case cb.Mode == link.ModeRedirect && ok:
		data["Kind"], data["Heading"], data["Text"] = "ok", msgs["successTitle"], msgs["callbackReturn"]
	case cb.Mode == link.ModeRedirect:
		data["Kind"], data["Heading"], data["Text"] = "error", msgs["errorTitle"], msgs["callbackReturnFailed"]
	case ok:
		data["Kind"], data["Heading"], data["Text"] = "ok", msgs["successTitle"], msgs["callbackDone"]
	default:
		data["Kind"], data["Heading"], data["Text"] = "error", msgs["errorTitle"], msgs["callbackFailed"]
	}
	ui.render(w, r, http.StatusOK, "status.html", data)
}
