package http

import (
	"net/http"
	"net/url"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/link"
)

// handleCallback is the OAuth redirect URL. It does all the work without any script:
// it finds the session by state (single use), exchanges the code with the stored PKCE
// verifier and connects the account. Then, for a popup (or a headless client), it
// renders a small page that tells the opener and closes; for a full-page redirect it
// renders the Link page again at the result.
func (ui *linkUI) handleCallback(w http.ResponseWriter, r *http.Request) {
	setLinkHeaders(w.Header())
	q := r.URL.Query()
	v := ui.parseView(nil)
	if ui.svc == nil {
		ui.renderMessage(w, r, http.StatusNotFound, v, "error", "errorTitle", "err.oauthStateInvalid")
		return
	}
	cb, err := ui.svc.CompleteOAuth(r.Context(), q.Get("state"), q.Get("code"), q.Get("error"))
	if err != nil {
		if linkvault.ErrorType(err) == link.ErrTypeStateInvalid {
			ui.renderMessage(w, r, http.StatusBadRequest, v, "error", "errorTitle", "err.oauthStateInvalid")
			return
		}
		ui.s.log.ErrorContext(r.Context(), "oauth callback failed", "route", r.Pattern, "error", err)
		ui.renderMessage(w, r, http.StatusInternalServerError, v, "error", "errorTitle", "err.generic")
		return
	}
	if vq, err := url.ParseQuery(cb.View); err == nil {
		v = ui.parseView(vq)
	}
	if cb.Mode == link.ModeRedirect {
		ui.renderPage(w, r, v, cb.Session, cb.PageSecret, &cb.Outcome, cb.TokenID)
		return
	}
	msgs := ui.catalogs[v.Lang]
	data := map[string]any{"Lang": v.Lang, "Status": cb.Outcome.Status}
	if cb.Outcome.Status == link.OutcomeConnected {
		data["Kind"], data["Heading"], data["Text"] = "ok", msgs["successTitle"], msgs["callbackDone"]
	} else {
		data["Kind"], data["Heading"], data["Text"] = "error", msgs["errorTitle"], msgs["callbackFailed"]
	}
	ui.render(w, r, http.StatusOK, "callback.html", data)
}
