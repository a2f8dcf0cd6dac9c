package browser_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/provider"
)

// OAuth sign-in (Coinbase, Uphold) inside each native SDK. The Link page navigates to
// the exchange's consent URL itself; what happens next is the SDK's decision
// (native_nav_test.go), applied here to the URL the SDK would really see: every
// loopback server of the test stands for its production host (productionHosts). So:
//
//   - a navigation the SDK keeps in its WebView stays in the tab: the user consents
//     there and the exchange redirects back to linkvault's callback in the same tab;
//   - a navigation the SDK hands to the system browser is cancelled in the tab (the
//     page stays, as after decisionHandler(.cancel) / return false /
//     NavigationDecision.prevent) and opened in a separate browser context with its
//     own cookies, standing for Safari or Chrome. Meanwhile the app is in the
//     background: the tab's page is hidden and frozen (no timers, as iOS suspends the
//     app), and shown again when the user comes back.

// productionHosts maps each loopback server of the test to the origin it stands for.
type productionHosts map[string]string // "http://127.0.0.1:port" -> "https://host"

// linkvaultProductionOrigin is the operator's linkvault host: https, as Android's SDK
// requires once its allow-list is off (docs/mobile.md).
const linkvaultProductionOrigin = "https://linkvault.example.com"

func productionOf(t *testing.T, st *linktest.Stack) productionHosts {
	t.Helper()
	origin := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return u.Scheme + "://" + u.Host
	}
	// The adapters' own production consent URLs (provider.CoinbaseProduction; Uphold's
	// is built from the client id).
	up, err := provider.NewUphold(provider.Config{ClientID: exchangesim.DemoClientID}, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	upholdAuth := up.AuthCodeURL(linkvault.AuthCodeRequest{State: "s", CodeVerifier: strings.Repeat("v", 43), RedirectURL: linkvaultProductionOrigin + "/cb", Scope: linkvault.PermissionRead})
	return productionHosts{
		st.URL:              linkvaultProductionOrigin,
		st.Sim.Coinbase.URL: origin(provider.CoinbaseProduction.AuthURL),
		st.Sim.Uphold.URL:   origin(upholdAuth),
		// The sandbox has no production host; an operator runs it on one of theirs.
		st.Sim.Sandbox.URL: "https://sandbox.linkvault.example.com",
	}
}

// url is raw as the SDK would see it in production.
func (p productionHosts) url(raw string) *url.URL {
	for from, to := range p {
		if raw == from || strings.HasPrefix(raw, from+"/") || strings.HasPrefix(raw, from+"?") {
			raw = to + strings.TrimPrefix(raw, from)
			break
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return &url.URL{Scheme: "invalid"}
	}
	return u
}

// webView is one tab playing an SDK's WebView for one Link session: the SDK's bridge
// and token injection (nativeShell), and its navigation decisions.
type webView struct {
	*env
	sh       *nativeShell
	sdk      nativeSDK
	prod     productionHosts
	linkHost string

	handoffs chan string // URLs the SDK handed to the system browser

	mu           sync.Mutex
	decisions    []string // "<decision> <production URL>", in order
	externalOpen bool     // launchGuard: the SDK believes an external launch is open
	ignored      int      // launches the guard dropped
}

// openWebView opens a new tab in b's browser (the app's WebView data store: cookies
// persist across Link sessions, as they do across an app's WebViews) playing sdk,
// with tokens as the app's stored tokens (nil: none).
func (b *env) openWebView(t *testing.T, sdk nativeSDK, prod productionHosts, tokens []map[string]string) *webView {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	tab := &env{t: t, st: b.st, app: b.app, ctx: ctx, calls: b.calls}
	lu, _ := url.Parse(b.st.URL)
	w := &webView{env: tab, sdk: sdk, prod: prod, linkHost: lu.Host, handoffs: make(chan string, 4)}
	w.sh = &nativeShell{t: t, sdk: sdk, e: tab}

	// The SDK sees URL changes and navigation requests in the order the WebView makes
	// them (webview_flutter's onUrlChange — Android's doUpdateVisitedHistory, iOS's URL
	// observer, both following same-document changes — and its navigation delegate, on
	// one thread), so they are handled in the browser's order, on the goroutine that
	// reads the tab's events: a fragment change made just before a relaunch resets the
	// launch guard before that launch is decided. (Separate event iterators lost that
	// order under load.)
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *fetch.EventRequestPaused:
			w.decide(ctx, *ev)
		case *page.EventNavigatedWithinDocument:
			w.urlChanged(ev.URL)
		case *page.EventFrameNavigated:
			if ev.Frame != nil && ev.Frame.ParentID == "" {
				w.urlChanged(ev.Frame.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The tab exists now (Listen opened it), so the console reader cannot race Listen to open it.
	tab.keepConsole()
	w.run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*", ResourceType: network.ResourceTypeDocument, RequestStage: fetch.RequestStageRequest},
		}})
		return err
	}))
	w.sh.install(tokens)
	return w
}

func (w *webView) urlChanged(raw string) {
	if u, err := url.Parse(raw); err == nil && u.Host == w.linkHost {
		w.mu.Lock()
		w.externalOpen = false
		w.mu.Unlock()
	}
}

// decide applies the SDK's navigation policy to a main-frame navigation.
func (w *webView) decide(ctx context.Context, ev fetch.EventRequestPaused) {
	raw := ev.Request.URL + ev.Request.URLFragment
	d := w.sdk.navigate(w.prod.url(raw))
	w.mu.Lock()
	guarded := false
	if d == navSystemBrowser && w.sdk.launchGuard {
		if w.externalOpen {
			guarded = true
			w.ignored++
		}
		w.externalOpen = true
	}
	w.decisions = append(w.decisions, d.String()+" "+w.prod.url(raw).String())
	w.mu.Unlock()
	go func() {
		var err error
		if d == navWebView {
			_, err = chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				return err
			}))
		} else {
			_, err = chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonAborted})
				return err
			}))
		}
		if err != nil && ctx.Err() == nil {
			w.t.Logf("%s: navigation decision not applied: %v", w.sdk.name, err)
		}
		switch {
		case guarded:
			// "External app already opened, ignoring" and goBack(): runJavaScript('window.history.go(-1)').
			_, _ = chromedp.Run(ctx, chromedp.Evaluate[any](`window.history.go(-1)`))
		case d == navSystemBrowser:
			w.handoffs <- raw
		}
	}()
}

// open navigates the tab to the Link URL of linkToken with the SDK's parameters.
func (w *webView) open(linkToken string) {
	w.t.Helper()
	u, err := linktest.DecodeLinkToken(linkToken)
	if err != nil {
		w.t.Fatal(err)
	}
	sep := "?"
	if u.RawQuery != "" {
		sep = "&"
	}
	w.run(chromedp.Navigate(u.String() + sep + w.sdk.query))
}

// lifecycle hides and freezes the page (the app goes to the background) or shows it
// again (back in the foreground): the document's visibility and its visibilitychange
// event, as the WebView reports them, and the page's timers stopped meanwhile.
func (w *webView) lifecycle(foreground bool) {
	w.t.Helper()
	state, hidden := page.SetWebLifecycleStateStateFrozen, "true"
	if foreground {
		state, hidden = page.SetWebLifecycleStateStateActive, "false"
	}
	vis := fmt.Sprintf(`(() => {
  const hidden = %s;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => hidden ? 'hidden' : 'visible' });
  document.dispatchEvent(new Event('visibilitychange'));
})()`, hidden)
	setState := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: state})
		return err
	})
	if foreground {
		w.run(setState, chromedp.Evaluate[chromedp.Void](vis))
	} else {
		w.run(chromedp.Evaluate[chromedp.Void](vis), setState)
	}
}

// systemBrowser is a fresh browser context (its own cookie jar) standing for the
// device's browser.
func (b *env) systemBrowser(t *testing.T) (*env, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	// The first Do opens the target, which lives as long as the context it gets: this
	// one, not a step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a browser context: %v", err)
	}
	return &env{t: t, st: b.st, app: b.app, ctx: ctx, calls: b.calls}, cancel
}

// consentAt fills in the simulated exchange's consent page shown in e and authorizes
// (or denies).
func consentAt(e *env, username string, deny bool) {
	e.t.Helper()
	button := "#authorize"
	if deny {
		button = "#deny"
	}
	e.run(chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), username), chromedp.SendKeys(chromedp.CSS("#password"), "pw"),
		chromedp.Click(chromedp.CSS(button)))
}

// signIn runs the exchange sign-in the Link page just started (it navigated to
// consentPrefix...), where the SDK put it: in the tab, or in the system browser while
// the app waits in the background. It returns where it ran.
func (w *webView) signIn(b *env, consentPrefix, username string, deny bool, shot string) navDecision {
	w.t.Helper()
	want := w.sdk.navigate(w.prod.url(consentPrefix))
	switch want {
	case navWebView:
		consentAt(w.env, username, deny)
	case navSystemBrowser:
		var raw string
		select {
		case raw = <-w.handoffs:
		case <-time.After(stepTimeout):
			w.fail(fmt.Errorf("%s handed nothing to the system browser; decisions %v", w.sdk.name, w.decisionLog()))
		}
		if !strings.HasPrefix(raw, consentPrefix) {
			w.fail(fmt.Errorf("%s handed %s to the system browser, want the consent page %s", w.sdk.name, raw, consentPrefix))
		}
		if shot != "" {
			w.shot(shot + "-waiting")
		}
		w.lifecycle(false)
		sys, closeSys := b.systemBrowser(w.t)
		sys.run(chromedp.Navigate(raw))
		consentAt(sys, username, deny)
		sys.run(chromedp.WaitVisible(chromedp.CSS("#lv-callback")))
		got := value(sys, chromedp.Evaluate[map[string]any](`(() => { const s = document.getElementById('lv-callback');
  return { mode: s.dataset.mode, status: s.dataset.status, text: s.textContent, boot: !!document.querySelector('[data-boot]') }; })()`))
		wantStatus, wantText := "connected", "Return to the app to continue."
		if deny {
			wantStatus, wantText = "failed", "Return to the app and try again."
		}
		if got["mode"] != "redirect" || got["status"] != wantStatus || !strings.Contains(got["text"].(string), wantText) || got["boot"] != false {
			w.fail(fmt.Errorf("the system browser's callback page: %v", got))
		}
		if shot != "" {
			sys.shot(shot + "-system-browser")
		}
		closeSys()
		w.lifecycle(true)
	default:
		w.fail(fmt.Errorf("%s refuses the consent page %s", w.sdk.name, w.prod.url(consentPrefix)))
	}
	if log := w.decisionLog(); !slices.ContainsFunc(log, func(s string) bool { return strings.HasPrefix(s, want.String()+" ") }) {
		w.fail(fmt.Errorf("%s: no %s decision in %v", w.sdk.name, want, log))
	}
	return want
}

func (w *webView) droppedLaunches() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ignored
}

func (w *webView) decisionLog() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.decisions)
}

// TestNativeSDKsOAuth: for each native SDK, first connect and re-authentication with
// Coinbase (OAuth2 + PKCE) through the simulated Coinbase, the consent page running
// where the SDK puts https://login.coinbase.com/oauth2/auth: in the WebView (iOS,
// Android) or in the system browser (React Native, Flutter). Either way the app gets
// brokerageAccountAccessToken decoded by its models, with the tokenId and brokerType,
// and re-authentication keeps the tokenId. On Flutter the first attempt is denied and
// retried from the same page (its SDK drops a second launch unless the WebView's URL
// changed).
func TestNativeSDKsOAuth(t *testing.T) {
	base := newEnv(t)
	prod := productionOf(t, base.st)
	for i, sdk := range nativeSDKs {
		t.Run(sdk.name, func(t *testing.T) {
			runNativeOAuth(t, base, sdk, prod, linkvault.BrokerCoinbase, base.st.Sim.Coinbase, "/oauth2/auth", fmt.Sprintf("oauth%d", i))
		})
	}
}

// TestNativeSDKsOAuthUphold: the same with Uphold (https://wallet.uphold.com/authorize/…,
// OAuth2 without PKCE, tokens without expiry), once per place the SDKs put its consent
// page (TestNativeNavigationPolicies pins the decision of every SDK): the WebView on iOS
// and, unlike its Coinbase page, on React Native; the system browser on Flutter.
func TestNativeSDKsOAuthUphold(t *testing.T) {
	base := newEnv(t)
	prod := productionOf(t, base.st)
	for i, sdk := range nativeSDKs {
		if !slices.Contains([]string{"iOS", "ReactNative-Android", "Flutter-iOS"}, sdk.name) {
			continue
		}
		t.Run(sdk.name, func(t *testing.T) {
			runNativeOAuth(t, base, sdk, prod, linkvault.BrokerUphold, base.st.Sim.Uphold, "/authorize/"+url.PathEscape(exchangesim.DemoClientID), fmt.Sprintf("uphold%d", i))
		})
	}
}

func runNativeOAuth(t *testing.T, base *env, sdk nativeSDK, prod productionHosts, broker linkvault.BrokerType, ex *exchangesim.Server, consentPath, user string) {
	b := base.newBrowser(t)
	exUser := user + "-x"
	consent := ex.URL + consentPath
	shot := "native-" + strings.ToLower(sdk.name) + "-" + string(broker)
	ctx := t.Context()

	// First connect.
	w := b.openWebView(t, sdk, prod, nil)
	w.open(b.st.LinkToken(t, "app1", linkvault.PermissionWrite, user))
	w.run(chromedp.WaitVisible(chromedp.CSS("[data-screen=catalog]")),
		chromedp.Click(chromedp.CSS("[data-integration="+string(broker)+"]")), chromedp.WaitVisible(chromedp.CSS("[data-screen=oauth]")))
	if sdk.launchGuard {
		// Denied at the exchange, then Try again in the same page.
		w.run(chromedp.Click(chromedp.CSS("#lv-continue")))
		w.signIn(b, consent, exUser, true, "")
		// Deny is the user cancelling, not an error: said so, with Try again.
		w.run(chromedp.WaitVisible(chromedp.CSS("[data-screen=cancelled]")))
		if got := value(w.env, chromedp.Text(chromedp.CSS("#lv-cancelled"))); !strings.Contains(got, "did not allow access") {
			w.fail(fmt.Errorf("denied consent shows %q", got))
		}
		w.run(chromedp.Click(chromedp.CSS("#lv-retry")), chromedp.WaitVisible(chromedp.CSS("[data-screen=oauth]")))
	}
	w.run(chromedp.Click(chromedp.CSS("#lv-continue")))
	where := w.signIn(b, consent, exUser, false, shot)
	w.run(chromedp.WaitVisible(chromedp.CSS("[data-screen=success]")))
	w.shot(shot + "-1-connected")
	m := w.sh.waitFor("brokerageAccountAccessToken")
	tokenID := tokenIDOf(t, m.Payload)
	if p, _ := m.Payload.(map[string]any); p["brokerType"] != string(broker) {
		t.Fatalf("brokerageAccountAccessToken brokerType %v, want %s", p["brokerType"], broker)
	}
	c, err := b.st.DB.GetConnection(ctx, "app1", tokenID)
	if err != nil || c.UserID != user || c.BrokerType != broker || c.Scope != linkvault.PermissionWrite {
		t.Fatalf("connection behind the reported tokenId: %+v %v", c, err)
	}
	if n := countType(w.sh.messages(), "brokerageAccountAccessToken"); n != 1 {
		t.Fatalf("%d brokerageAccountAccessToken messages, want 1", n)
	}
	if n := w.droppedLaunches(); n != 0 {
		t.Fatalf("%s dropped %d launches of the exchange", sdk.name, n)
	}
	checkEvents(t, sdk, w.sh.messages())

	// The exchange revokes the grant; the next Link session re-authenticates the same
	// tokenId.
	if _, err := ex.RevokeUserGrants(exUser); err != nil {
		t.Fatal(err)
	}
	w2 := b.openWebView(t, sdk, prod, []map[string]string{{"accountId": "", "accountName": "", "accessToken": tokenID, "brokerType": string(broker), "brokerName": ""}})
	w2.open(b.st.LinkToken(t, "app1", linkvault.PermissionWrite, user))
	w2.run(chromedp.WaitVisible(chromedp.CSS("[data-screen=reauth]")))
	w2.shot(shot + "-2-reauth")
	w2.run(chromedp.Click(chromedp.CSS("#lv-continue")))
	w2.signIn(b, consent, exUser, false, "")
	w2.run(chromedp.WaitVisible(chromedp.CSS("[data-screen=success]")))
	w2.shot(shot + "-3-reconnected")
	again := w2.sh.waitFor("brokerageAccountAccessToken")
	if got := tokenIDOf(t, again.Payload); got != tokenID {
		t.Fatalf("re-authentication reported tokenId %s, want %s", got, tokenID)
	}
	if p, _ := again.Payload.(map[string]any); p["brokerType"] != string(broker) {
		t.Fatalf("re-auth brokerType %v", p["brokerType"])
	}
	if c, err := b.st.DB.GetConnection(ctx, "app1", tokenID); err != nil || c.Status != linkvault.StatusActive {
		t.Fatalf("after re-auth: %+v %v", c, err)
	}
	if cs, _ := b.st.DB.ListUserConnections(ctx, "app1", user); len(cs) != 1 {
		t.Fatalf("%s has %d connections, want the one re-attached", user, len(cs))
	}
	checkEvents(t, sdk, w2.sh.messages())
	t.Logf("%s, %s: consent in the %s; first connect and re-auth reported tokenId %s… (brokerageAccountAccessToken decoded with the SDK's model)",
		sdk.name, broker, where, tokenID[:6])
}

func countType(ms []nativeMsg, typ string) int {
	n := 0
	for _, m := range ms {
		if m.Type == typ {
			n++
		}
	}
	return n
}
