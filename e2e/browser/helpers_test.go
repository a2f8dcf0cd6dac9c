// Package browser holds browser tests of the Link UI, the web SDK and the example app:
// headless Chromium (chromedp) against the real server, the simulated exchanges and the
// example app, all on loopback. They skip, saying so, when /usr/bin/chromium is absent.
// Screenshots of the main screens go to artifacts/screenshots/ at the repository root.
package browser_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/examples/webapp"
	"github.com/linkvault/linkvault/internal/chromium"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

const chromiumPath = chromium.Path

// env is one test's world: linkvault (with simulated exchanges), the example app on
// another origin, and a fresh headless browser.
type env struct {
	t     *testing.T
	st    *linktest.Stack
	app   string // the example app's URL
	ctx   context.Context
	calls *pathCounter

	mu      sync.Mutex
	console []string // the main tab's console messages, printed when a step fails
}

// pathCounter counts requests per path on the linkvault server; it can also lose the
// answer to a request the server handled (as a proxy that times out does).
type pathCounter struct {
	mu   sync.Mutex
	n    map[string]int
	lose map[string]int // path → how many of its next answers to replace by a 502
}

func (c *pathCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.URL.Path]++
		lose := c.lose[r.URL.Path] > 0
		if lose {
			c.lose[r.URL.Path]--
		}
		c.mu.Unlock()
		if lose {
			// The server does the work; its answer never reaches the browser.
			next.ServeHTTP(httptest.NewRecorder(), r)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loseNextAnswer makes the next request to path get a proxy's 502 instead of the
// server's answer, after the server handled it.
func (c *pathCounter) loseNextAnswer(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lose == nil {
		c.lose = map[string]int{}
	}
	c.lose[path]++
}

func (c *pathCounter) get(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser tests skipped: %s not found (install chromium to run them)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	calls := &pathCounter{n: map[string]int{}}
	st := linktest.NewStack(t, linktest.StackOptions{Middleware: calls.wrap})
	app, err := webapp.New(webapp.Config{
		LinkvaultURL: st.URL, ClientID: "app1", ClientSecret: st.Secret("app1", linkvault.PermissionWrite),
		StorePath: filepath.Join(t.TempDir(), "tokens.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	as := serveOn(t, "127.0.0.1", app)
	st.AllowOrigins(t, "app1", as)
	e := &env{t: t, st: st, app: as, calls: calls}
	return e.newBrowser(t)
}

// newBrowser returns an env for test t on e's servers with a fresh headless browser
// (own profile), closed when t ends.
func (e *env) newBrowser(t *testing.T) *env {
	t.Helper()
	opts := chromium.Options(chromiumPath, t.TempDir())
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &env{t: t, st: e.st, app: e.app, ctx: ctx, calls: e.calls}
	b.keepConsole()
	return b
}

// keepConsole collects the console messages of e's tab (printed when a step fails)
// until the tab closes.
func (e *env) keepConsole() {
	go func() {
		for m, err := range chromedp.Console(e.ctx) {
			if err != nil {
				return
			}
			e.mu.Lock()
			e.console = append(e.console, m.String())
			e.mu.Unlock()
		}
	}()
}

// serveOn serves h on host (a loopback name or address) and returns its base URL.
func serveOn(t *testing.T, host string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "http://" + host + ":" + port
}

// stepTimeout bounds one step, so a failing step leaves the browser alive for a
// screenshot of what it shows.
const stepTimeout = 25 * time.Second

func (e *env) run(actions ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		e.fail(err)
	}
}

// value runs one action that returns a value.
func value[T any](e *env, a chromedp.Action[T]) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		e.fail(err)
	}
	return v
}

// fail saves a screenshot of the page as FAIL-<test>.png and stops the test.
func (e *env) fail(err error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if png, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)); serr == nil {
		save(e.t, "FAIL-"+strings.ReplaceAll(e.t.Name(), "/", "-"), png)
	}
	e.mu.Lock()
	for _, m := range e.console {
		e.t.Log("console:", m)
	}
	e.mu.Unlock()
	e.t.Fatal(err)
}

// signIn opens the example app and signs in as name.
func (e *env) signIn(name string) {
	e.t.Helper()
	e.run(
		chromedp.Navigate(e.app+"/"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#connect")),
	)
}

// pickIntegration signs in to the example app as name (with query on its page, e.g.
// "?lng=es", when given), opens Link and picks integration in its catalog.
func (e *env) pickIntegration(name, query, integration string) {
	e.t.Helper()
	e.signIn(name)
	if query != "" {
		e.run(chromedp.Navigate(e.app+"/"+query), chromedp.WaitVisible(chromedp.CSS("#connect")))
	}
	e.run(chromedp.Click(chromedp.CSS("#connect")))
	e.waitInFrame(overlayFrame, "[data-screen=catalog]")
	e.clickInFrame(overlayFrame, "[data-integration="+integration+"]")
}

// connectHeadless connects user's Coinbase account user-cb (password pw) for client
// app1 with permission perm through Link's HTTP API, without a browser, and returns
// the payload Link hands the app.
func (e *env) connectHeadless(user string, perm linkvault.Permission) *link.AccessTokenPayload {
	e.t.Helper()
	p, err := linktest.Connect(e.t.Context(), nil, e.st.LinkToken(e.t, "app1", perm, user), "coinbase", user+"-cb", "pw")
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// linkURL is the Link page's URL for a fresh linkToken of client app1 for user with
// permission perm: what a native shell opens.
func (e *env) linkURL(perm linkvault.Permission, user string) *url.URL {
	e.t.Helper()
	u, err := linktest.DecodeLinkToken(e.st.LinkToken(e.t, "app1", perm, user))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// storedToken is the entry for a stored Coinbase tokenId in window.accessTokens, as an
// app (or a native SDK) passes it to Link.
func storedToken(tokenID string) map[string]string {
	return map[string]string{"accessToken": tokenID, "brokerType": "coinbase", "brokerName": "", "accountId": "", "accountName": ""}
}

// accessTokensScript sets window.accessTokens to the stored Coinbase tokenId as a
// native shell injects it: a JSON string.
func accessTokensScript(tokenID string) string {
	return `window.accessTokens = ` + jsString(jsonOf([]map[string]string{storedToken(tokenID)})) + `;`
}

// addCoinbaseMFAUser creates username (password) on the simulated Coinbase with
// two-step verification: it confirms with the code mfa.
func (e *env) addCoinbaseMFAUser(username, password, mfa string) {
	e.t.Helper()
	if err := e.st.Sim.Coinbase.Exchange.CreateUser(exchangesim.User{Username: username, Password: password, MFACode: mfa, TwoFactor: true}); err != nil {
		e.t.Fatal(err)
	}
}

// addInitScript has the tab run src at the start of every document it loads from now
// on, before the page's own scripts (as a native shell's injection does); remove stops
// that.
func (e *env) addInitScript(src string) (remove func()) {
	e.t.Helper()
	var id page.ScriptIdentifier
	e.run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		r, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		id = r.Identifier
		return err
	}))
	return func() {
		e.t.Helper()
		e.run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id})
			return err
		}))
	}
}

// enterNewAPIKey creates an API key with withdrawals, restricted to the loopback
// addresses, on the exchange's key page manage as username (password pw), enters it in
// the API-key form of the Link frame frame and waits until Link has connected.
func (e *env) enterNewAPIKey(frame, manage, username string) {
	e.t.Helper()
	k, err := exchangesim.CreateKeyAtPage(e.t.Context(), nil, manage, username, "pw",
		exchangesim.APIKeyPermissions{Withdrawals: true, TrustedIPs: []string{"127.0.0.1", "::1"}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.setInFrame(frame, "#lv-apikey", k.Key)
	e.setInFrame(frame, "#lv-apisecret", k.Secret)
	e.clickInFrame(frame, "#lv-submit")
	e.waitInFrame(frame, "[data-screen=success]")
}

// checkEmbedded: the iframe frame shows Link in embedded mode (rt=embedded), where
// Link hides its own close button.
func (e *env) checkEmbedded(frame string) {
	e.t.Helper()
	if src := value(e, chromedp.AttributeValue(chromedp.CSS(frame), "src")); !strings.Contains(src.Value, "rt=embedded") {
		e.t.Fatalf("embedded iframe src %q", src.Value)
	}
	if hidden := e.attrInFrame(frame, "#lv-close", "hidden"); !hidden.Exists {
		e.t.Fatal("Link shows its own close button in embedded mode")
	}
}

// inFrame runs an action against the document inside the iframe sel, retrying with a
// fresh frame node: the node read before the iframe finished navigating points at its
// previous (blank) document.
func inFrame[T any](e *env, sel string, a func(f *chromedp.Node) chromedp.Action[T]) T {
	e.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(sel)))
		if err == nil && len(nodes) > 0 {
			var v T
			v, err = chromedp.Run(ctx, a(nodes[0]))
			if err == nil {
				cancel()
				return v
			}
		}
		cancel()
		lastErr = err
		if e.ctx.Err() != nil {
			break
		}
	}
	e.fail(fmt.Errorf("in frame %s: %w", sel, lastErr))
	panic("unreachable")
}

// waitInFrame waits until inner is visible inside the iframe sel (the Link frame).
func (e *env) waitInFrame(sel, inner string) {
	e.t.Helper()
	inFrame(e, sel, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(inner), chromedp.FromNode(f))
	})
}

func (e *env) clickInFrame(sel, inner string) {
	e.t.Helper()
	inFrame(e, sel, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(inner), chromedp.FromNode(f)), chromedp.Click(chromedp.CSS(inner), chromedp.FromNode(f)))
	})
}

func (e *env) typeInFrame(sel, inner, text string) {
	e.t.Helper()
	inFrame(e, sel, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(inner), chromedp.FromNode(f)), chromedp.SendKeys(chromedp.CSS(inner), text, chromedp.FromNode(f)))
	})
}

// setInFrame replaces the value of the input inner inside the iframe sel (as pasting
// over it does).
func (e *env) setInFrame(sel, inner, value string) {
	e.t.Helper()
	inFrame(e, sel, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.SetValue(chromedp.CSS(inner), value, chromedp.FromNode(f))
	})
}

// textInFrame returns the text of inner inside the iframe sel.
func (e *env) textInFrame(sel, inner string) string {
	e.t.Helper()
	e.waitInFrame(sel, inner)
	return inFrame(e, sel, func(f *chromedp.Node) chromedp.Action[string] {
		return chromedp.Text(chromedp.CSS(inner), chromedp.FromNode(f))
	})
}

// wantText reports (and goes on) unless the text of inner inside the iframe sel is
// want; what names it in the report.
func (e *env) wantText(sel, inner, want, what string) {
	e.t.Helper()
	if got := e.textInFrame(sel, inner); got != want {
		e.t.Errorf("%s: %q, want %q", what, got, want)
	}
}

// attrInFrame reads an attribute of inner inside the iframe sel.
func (e *env) attrInFrame(sel, inner, name string) chromedp.AttributeResult {
	e.t.Helper()
	return inFrame(e, sel, func(f *chromedp.Node) chromedp.Action[chromedp.AttributeResult] {
		return func(ctx context.Context, t *chromedp.Target) (chromedp.AttributeResult, error) {
			if _, err := chromedp.WaitReady(chromedp.CSS(inner), chromedp.FromNode(f))(ctx, t); err != nil {
				return chromedp.AttributeResult{}, err
			}
			return chromedp.AttributeValue(chromedp.CSS(inner), name, chromedp.FromNode(f))(ctx, t)
		}
	})
}

// openConsentPopup clicks inner in the Link frame frameSel (which opens the exchange's
// consent page in a popup), waits for the sign-in form and returns the popup's browser
// context.
func (e *env) openConsentPopup(frameSel, inner string) (context.Context, target.ID, context.CancelFunc) {
	e.t.Helper()
	ch := chromedp.WaitNewTarget(e.ctx, func(info *target.Info) bool { return info.Type == "page" && info.OpenerID != "" })
	e.clickInFrame(frameSel, inner)
	var id target.ID
	select {
	case id = <-ch:
	case <-e.ctx.Done():
		e.t.Fatal("no sign-in popup opened")
	}
	popup, cancel := chromedp.NewContext(e.ctx, chromedp.WithTargetID(id))
	if err := chromedp.Do(popup, chromedp.WaitVisible(chromedp.CSS("#username"))); err != nil {
		e.t.Fatalf("consent page: %v", err)
	}
	return popup, id, cancel
}

// consentInPopup clicks inner in the Link frame, which opens the exchange's consent page
// in a popup, signs in there as username/password and authorizes.
func (e *env) consentInPopup(frameSel, inner, username, password, shot string) {
	e.t.Helper()
	popup, _, cancel := e.openConsentPopup(frameSel, inner)
	defer cancel()
	err := chromedp.Do(popup,
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
	)
	if err != nil {
		e.t.Fatalf("consent page: %v", err)
	}
	buf, err := chromedp.Run(popup, chromedp.FullScreenshot(100))
	if err != nil {
		e.t.Fatalf("consent page screenshot: %v", err)
	}
	if shot != "" {
		save(e.t, shot, buf)
	}
	// Authorize; the exchange redirects to linkvault's callback page, which tells the
	// Link page and closes the popup (so waiting for it may end in an error).
	wctx, wcancel := context.WithTimeout(popup, stepTimeout)
	defer wcancel()
	_ = chromedp.Do(wctx, chromedp.Click(chromedp.CSS("#authorize")), chromedp.WaitReady(chromedp.CSS("#lv-callback")))
}

// shot saves a screenshot of the whole page.
func (e *env) shot(name string) {
	e.t.Helper()
	e.run(chromedp.Sleep(250 * time.Millisecond)) // let the screen's fade-in finish
	save(e.t, name, value(e, chromedp.FullScreenshot(100)))
}

// shotBoth saves name-desktop and name-phone (375×740): the same screen at both widths.
func (e *env) shotBoth(name string) {
	e.t.Helper()
	e.shot(name + "-desktop")
	e.run(chromedp.EmulateViewport(375, 740))
	e.shot(name + "-phone")
	e.run(chromedp.EmulateViewport(1100, 760))
}

func save(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// nodeModule is the path of rel in web/node_modules; it skips t when that is not
// installed (scripts/webcheck installs the npm tools; .ci/run does).
func nodeModule(t *testing.T, rel string) string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "web", "node_modules", filepath.FromSlash(rel))
	if _, err := os.Stat(path); err != nil {
		t.Skipf("web/node_modules/%s is not installed (run scripts/webcheck install; .ci/run does)", rel)
	}
	return path
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// storedTokenIDs returns the tokenIds the example app page lists.
func (e *env) storedTokenIDs() []string {
	e.t.Helper()
	return value(e, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-token-id]')].map(e => e.dataset.tokenId)`))
}

// events returns the example app's event log (newest first).
func (e *env) events() string {
	s, _ := chromedp.Run(e.ctx, chromedp.Text(chromedp.CSS("#events")))
	return s
}
