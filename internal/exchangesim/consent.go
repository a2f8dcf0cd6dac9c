package exchangesim

import (
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

type hiddenField struct{ Name, Value string }

// consentTemplate is a self-contained page (no external assets). The form posts back to
// the page's own URL, so the exchange also works mounted under a path prefix.
var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to {{.Exchange}}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:2rem;width:min(24rem,90vw)}
h1{font-size:1.25rem;margin:0 0 .5rem}
p{color:#374151;font-size:.9rem}
label{display:block;margin:.75rem 0 .25rem;font-size:.85rem;color:#111827}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #d1d5db;border-radius:6px}
.buttons{display:flex;gap:.5rem;margin-top:1.25rem}
button{flex:1;padding:.6rem;border-radius:6px;border:0;font-weight:600;cursor:pointer}
#authorize{background:#1652f0;color:#fff}
#deny{background:#e5e7eb;color:#111827}
.error{color:#b91c1c}
.scope{font-family:monospace;font-size:.8rem;word-break:break-word}
</style>
</head>
<body>
<main>
<h1>{{.Exchange}}</h1>
<p>The application <strong>{{.ClientID}}</strong> asks for access to your account.</p>
<p class="scope">{{.Scope}}</p>
{{if .Error}}<p class="error" role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post" action="">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="buttons">
<button type="submit" id="authorize" name="action" value="authorize">Authorize</button>
<button type="submit" id="deny" name="action" value="deny" formnovalidate>Deny</button>
</div>
</form>
</main>
</body>
</html>
`))

var errorPageTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Exchange}}</title></head>
<body><h1>{{.Exchange}}</h1><p class="error" id="error">{{.Error}}</p></body></html>
`))

func (e *Exchange) renderConsent(w http.ResponseWriter, status int, a authRequest, errMsg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:")
	w.WriteHeader(status)
	_ = consentTemplate.Execute(w, map[string]any{
		"Exchange": e.displayName(), "ClientID": a.ClientID, "Scope": a.Scope, "Error": errMsg, "Hidden": a.hidden(),
	})
}

func (e *Exchange) renderErrorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorPageTemplate.Execute(w, map[string]any{"Exchange": e.displayName(), "Error": msg})
}

var hiddenInputPattern = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// Consent drives a consent page without a browser, for tests: it loads authURL, fills in
// username and password, presses Authorize (or Deny when deny is true), and returns the
// URL the exchange redirected to (carrying code and state, or error). client must not
// follow redirects (CheckRedirect returning http.ErrUseLastResponse); nil uses such a
// client.
func Consent(ctx context.Context, client *http.Client, authURL, username, password string, deny bool) (*url.URL, error) {
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusFound {
		return resp.Location()
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("exchangesim: consent page answered %d", resp.StatusCode)
	}
	form := url.Values{}
	for _, m := range hiddenInputPattern.FindAllStringSubmatch(string(page), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	form.Set("username", username)
	form.Set("password", password)
	form.Set("action", "authorize")
	if deny {
		form.Set("action", "deny")
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, authURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, ErrConsentRefused
	}
	return resp.Location()
}

// ErrConsentRefused is returned by Consent when the exchange re-showed the form (wrong
// password) instead of redirecting.
var ErrConsentRefused = errors.New("exchangesim: consent form refused the credentials")
