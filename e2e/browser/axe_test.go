package browser_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkvault/linkvault"
)

// axe-core (npm, pinned in web/package.json; scripts/webcheck installs it) checks every
// screen of the Link page and the example app: zero serious or critical violations,
// at desktop and phone widths. The engine is evaluated through DevTools, which the
// pages' Content-Security-Policy does not apply to; nothing of it ships.

// axeSource is axe-core's browser build from web/node_modules.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(nodeModule(t, "axe-core/axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axeCheck runs axe on the current top-level document and fails the test on any
// serious or critical violation, naming the screen.
func (e *env) axeCheck(src, screen string) {
	e.t.Helper()
	// Let the screen's fade-in end: axe measures contrast at the opacity it sees.
	e.run(chromedp.Sleep(300 * time.Millisecond))
	value(e, chromedp.Evaluate[chromedp.Void](`if (!window.axe) { `+src+` }`))
	raw := value(e, chromedp.Evaluate[string](`axe.run(document, { resultTypes: ['violations'] }).then((r) => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	e.axeReport(screen, raw)
}

// axeReport fails the test on each serious or critical violation in raw (axe's
// violations as JSON), naming the screen and the elements.
func (e *env) axeReport(screen, raw string) {
	e.t.Helper()
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		e.t.Fatalf("axe %s: %v", screen, err)
	}
	var bad []string
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			bad = append(bad, fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(where, ", ")))
		}
	}
	if len(bad) > 0 {
		e.shot("FAIL-axe-" + screen)
		e.t.Errorf("axe on %s: %d serious/critical violations:\n  %s", screen, len(bad), strings.Join(bad, "\n  "))
	}
}

// axeBoth runs axeCheck at desktop and phone width and keeps a screenshot of each.
func (e *env) axeBoth(src, screen string) {
	e.t.Helper()
	for _, w := range []struct {
		name string
		x, y int64
	}{{"desktop", 1100, 760}, {"phone", 375, 740}} {
		e.run(chromedp.EmulateViewport(w.x, w.y))
		e.axeCheck(src, screen+"-"+w.name)
		e.shot("axe-" + screen + "-" + w.name)
	}
	e.run(chromedp.EmulateViewport(1100, 760))
}

// TestAxeEveryScreen: the Link page opened top-level as a native SDK's WebView would
// (stored tokens from the bridge), through every screen of the connect, transfer and
// error flows, then the example app and the expired page. The walk runs twice: in
// English with the light theme, and in Spanish with the dark theme, euros (the
// account's rate note) and an exchange user with two-step verification (the
// verification-code screen).
func TestAxeEveryScreen(t *testing.T) {
	src := axeSource(t)
	e := newEnv(t)
	e.axeWalk(src, axeVariant{user: "wes"})
	e.addCoinbaseMFAUser("xoan-cb", "pw", "246810")
	e.axeWalk(src, axeVariant{name: "-es-dark", user: "xoan", query: "lng=es&th=dark&fiatCur=EUR", mfa: "246810"})
	e.signIn("wes")
	e.axeBoth(src, "example-app")
}

// axeVariant is one pass of the axe walk: screen-name suffix, app user (its Coinbase
// user is user+"-cb"), extra Link URL parameters, and the exchange's verification
// code when the user has two-step verification.
type axeVariant struct {
	name, user, query, mfa string
}

func (e *env) axeWalk(src string, v axeVariant) {
	t := e.t
	t.Helper()
	open := func() string {
		u := e.linkURL(linkvault.PermissionWrite, v.user)
		if v.query != "" {
			q := u.Query()
			extra, _ := url.ParseQuery(v.query)
			for k, vs := range extra {
				q[k] = vs
			}
			u.RawQuery = q.Encode()
		}
		return u.String()
	}

	// New user: catalog, OAuth intro, API-key form with its field errors.
	e.run(chromedp.Navigate(open()), chromedp.WaitVisible(chromedp.CSS("[data-screen=catalog]")))
	e.axeBoth(src, "catalog"+v.name)
	e.run(chromedp.Click(chromedp.CSS("[data-integration=coinbase]")), chromedp.WaitVisible(chromedp.CSS("[data-screen=oauth]")))
	e.axeBoth(src, "oauth-intro"+v.name)
	e.run(chromedp.Click(chromedp.CSS("#lv-back")), chromedp.WaitVisible(chromedp.CSS("[data-screen=catalog]")),
		chromedp.Click(chromedp.CSS("[data-integration=binanceInternationalDirect]")), chromedp.WaitVisible(chromedp.CSS("#lv-submit")),
		chromedp.Click(chromedp.CSS("#lv-submit")), chromedp.WaitVisible(chromedp.CSS("#lv-apikey-error")))
	e.axeBoth(src, "apikey-errors"+v.name)

	// Return user with a write connection: account, transfer form (with errors), review,
	// verification code, done.
	p := e.connectHeadless(v.user, linkvault.PermissionWrite)
	removeScript := e.addInitScript(accessTokensScript(p.AccountTokens[0].TokenID) + ` window.ReactNativeWebView = { postMessage: () => {} };`)
	u := open()
	e.run(chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("#lv-positions")))
	e.axeBoth(src, "account"+v.name)
	e.run(chromedp.Click(chromedp.CSS("#lv-transfer")), chromedp.WaitVisible(chromedp.CSS("[data-screen=transfer]")))
	e.axeBoth(src, "transfer-form"+v.name)
	e.run(chromedp.SendKeys(chromedp.CSS("#lv-address"), "0x1"), chromedp.SendKeys(chromedp.CSS("#lv-amount"), "99999999"),
		chromedp.Click(chromedp.CSS("#lv-submit")), chromedp.WaitVisible(chromedp.CSS("#lv-amount-error")))
	e.axeBoth(src, "transfer-form-errors"+v.name)
	e.run(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#lv-symbol'); s.value = 'ETH'; s.dispatchEvent(new Event('change')); })()`),
		chromedp.SetValue(chromedp.CSS("#lv-address"), "0x326a8825472bb0f4719998e708a1eeeb4473ed1b"),
		chromedp.SetValue(chromedp.CSS("#lv-amount"), "0.1"),
		chromedp.Click(chromedp.CSS("#lv-submit")), chromedp.WaitVisible(chromedp.CSS("#lv-confirm")))
	e.axeBoth(src, "transfer-review"+v.name)
	e.run(chromedp.Click(chromedp.CSS("#lv-confirm")))
	if v.mfa != "" {
		e.run(chromedp.WaitVisible(chromedp.CSS("#lv-mfa")))
		e.axeBoth(src, "transfer-mfa"+v.name)
		e.run(chromedp.SendKeys(chromedp.CSS("#lv-mfa"), v.mfa), chromedp.Click(chromedp.CSS("#lv-confirm")))
	}
	e.run(chromedp.WaitVisible(chromedp.CSS("[data-screen=transfer-done]")))
	e.axeBoth(src, "transfer-done"+v.name)

	// The expired page (the Link token was used).
	e.run(chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("#lv-message")))
	e.axeBoth(src, "expired"+v.name)
	removeScript()
}

// axeInFrame runs axe-core inside the Link iframe sel (the overlay the app page
// opened) on the screen it shows, at desktop and phone width, and fails on any serious
// or critical violation. The engine is sent with the DevTools call that runs it, so
// the page's Content-Security-Policy (no eval) does not apply; nothing of it ships.
func (e *env) axeInFrame(sel, screen string) {
	e.t.Helper()
	src := axeSource(e.t)
	for _, w := range []struct {
		name string
		x, y int64
	}{{"desktop", 1100, 760}, {"phone", 375, 740}} {
		e.run(chromedp.EmulateViewport(w.x, w.y), chromedp.Sleep(300*time.Millisecond))
		nodes := value(e, chromedp.Nodes(chromedp.CSS(sel)))
		if len(nodes) == 0 {
			e.t.Fatalf("axe %s: no frame %s", screen, sel)
		}
		key := "__lvAxe_" + screen + "_" + w.name
		fn := `() => { if (!window.axe) { ` + src + ` }
  if (!(` + jsString(key) + ` in window)) {
    window[` + jsString(key) + `] = '';
    axe.run(document, { resultTypes: ['violations'] }).then((r) => { window[` + jsString(key) + `] = JSON.stringify(r.violations); });
  }
  return window[` + jsString(key) + `]; }`
		raw := value(e, chromedp.PollFunction[string](fn, chromedp.WithPollingInFrame(nodes[0]),
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
		e.axeReport(screen+"-"+w.name, raw)
	}
	e.run(chromedp.EmulateViewport(1100, 760))
}
