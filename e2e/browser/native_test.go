package browser_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkvault/linkvault"
)

// nativeSDK is one of Mesh's native SDKs as the Link page meets it inside a WebView:
// the bridge object it installs before the page runs, the query parameters it adds to
// the Link URL, and how and when its native side sets window.accessTokens. Each is
// transcribed from the SDK's source (commits in models_test.go).
type nativeSDK struct {
	name   string
	source string // where the bridge and the token injection are in the SDK's source
	// bridge installs the SDK's object at document start; post(via) forwards a call.
	bridge string
	// query is what the SDK appends to the decoded Link URL.
	query string
	// script is what the native side evaluates: meshSdkPlatform, meshSdkVersion and,
	// when tokens is not "", window.accessTokens in the SDK's form.
	script func(tokens []map[string]string) string
	// when the script runs: in reply to the page's `loaded` (after delay), at
	// DOMContentLoaded (WKUserScript at document end), or after the load event
	// (Android's onPageFinished).
	when  injectWhen
	delay time.Duration
	// body is the JavaScript type the SDK accepts ("object" or "string").
	body   string
	models sdkModels
	// navigate is what the SDK does with a main-frame navigation of its WebView
	// (native_nav_test.go, from its source).
	navigate func(u *url.URL) navDecision
	// launchGuard: the SDK drops an external launch while it believes the previous one
	// is still open, until the WebView's URL changes on the Link host, and then runs
	// window.history.go(-1) (Flutter: mesh_link_controller.dart _launchExternalUri and
	// _isExternalAppOpened, reset in NavigationDelegate.onUrlChange).
	launchGuard bool
}

type injectWhen int

const (
	replyToLoaded injectWhen = iota
	documentEnd
	pageFinished
)

// The bridge objects record each call, with the JavaScript type of its argument, in
// sessionStorage (it survives the OAuth redirect, as the native side's memory does).
// __lvReply is the SDK's native answer: the same assignments its native side evaluates.
const bridgePrelude = `(() => {
  const store = (c) => {
    const l = JSON.parse(sessionStorage.getItem('__lvCalls') || '[]');
    c.seq = l.length + 1;
    l.push(c);
    sessionStorage.setItem('__lvCalls', JSON.stringify(l));
  };
  window.__lvPost = (via) => (body) => {
    store({ via, kind: typeof body, body });
    let type = '';
    try { type = (typeof body === 'string' ? JSON.parse(body) : body).type; } catch (e) {}
    if (type === 'loaded' && window.__lvOnLoaded) window.__lvOnLoaded();
  };
  window.__lvScreens = [];
  new MutationObserver(() => {
    const s = document.querySelector('[data-screen]');
    const n = s && s.getAttribute('data-screen');
    if (n && window.__lvScreens[window.__lvScreens.length - 1] !== n) window.__lvScreens.push(n);
  }).observe(document, { subtree: true, childList: true });
})();
`

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var nativeSDKs = []nativeSDK{
	{
		name:   "iOS",
		source: "mesh-ios-sdk LinkWebViewViewController.swift: WKUserContentController.add(self, name: \"jsMessageHandler\"); message.body as? [String: Any]; case .loaded: evaluateJavaScript(\"window.meshSdkPlatform = 'iOS';window.meshSdkVersion = '3.2.1';window.accessTokens = '<JSONEncoder>';\")",
		bridge: `window.webkit = { messageHandlers: { jsMessageHandler: { postMessage: __lvPost('webkit.messageHandlers.jsMessageHandler') } } };`,
		query:  "lng=en",
		script: func(tokens []map[string]string) string {
			s := "window.meshSdkPlatform = 'iOS';window.meshSdkVersion = '3.2.1';"
			if tokens != nil {
				// JSONEncoder escapes "/" as "\/"; inside the single-quoted JS string it reads back as "/".
				s += "window.accessTokens = '" + strings.ReplaceAll(jsonOf(tokens), "/", `\/`) + "';"
			}
			return s
		},
		when: replyToLoaded, delay: 0, body: "object", models: iosModels, navigate: iosNavigate,
	},
	{
		name:   "Android",
		source: "mesh-android-sdk LinkActivity.kt: addJavascriptInterface(JSBridge, \"JSBridge\") with @JavascriptInterface sendNativeMessage(String); LinkEvent.Loaded -> evaluateJavascript(getOnLoadedScript(...)) (OnLoadedScript.kt); createURL(... platform=android)",
		bridge: `window.JSBridge = { sendNativeMessage: __lvPost('JSBridge.sendNativeMessage') };`,
		query:  "lng=en&platform=android",
		script: func(tokens []map[string]string) string {
			s := "window.meshSdkPlatform='android';window.meshSdkVersion='3.0.0'"
			if tokens != nil {
				s += ";window.accessTokens='" + jsonOf(tokens) + "'"
			}
			return s
		},
		when: replyToLoaded, delay: 400 * time.Millisecond, body: "string", models: androidModels, navigate: androidNavigate,
	},
	{
		name:   "ReactNative-iOS",
		source: "mesh-react-native-sdk LinkConnect.tsx: <WebView injectedJavaScript={...window.accessTokens='${JSON.stringify(props.settings.accessTokens || {})}'} onMessage>; react-native-webview runs injectedJavaScript at document end on iOS; useSDKCallbacks.ts adds platform=reactNative",
		bridge: `window.ReactNativeWebView = { postMessage: __lvPost('ReactNativeWebView.postMessage') };`,
		query:  "lng=en&platform=reactNative",
		script: rnScript,
		when:   documentEnd, body: "string", models: reactNativeModels, navigate: rnNavigate,
	},
	{
		name:   "ReactNative-Android",
		source: "mesh-react-native-sdk LinkConnect.tsx injectedJavaScript; react-native-webview evaluates it in onPageFinished on Android",
		bridge: `window.ReactNativeWebView = { postMessage: __lvPost('ReactNativeWebView.postMessage') };`,
		query:  "lng=en&platform=reactNative",
		script: rnScript,
		when:   pageFinished, delay: 150 * time.Millisecond, body: "string", models: reactNativeModels, navigate: rnNavigate,
	},
	{
		name:   "Flutter-Android",
		source: "mesh-flutter-sdk mesh_link_controller.dart: addJavaScriptChannel('JSBridge', onMessageReceived: jsonDecode(message)); LoadedEvent -> _onLoaded: runJavaScript(\"window.meshSdkPlatform='flutter';...window.accessTokens=${json.encode(tokens)};\"); webview_flutter_android exposes the channel as window.JSBridge.postMessage(String)",
		bridge: `window.JSBridge = { postMessage: __lvPost('JSBridge.postMessage') };`,
		query:  "lng=en",
		script: flutterScript,
		when:   replyToLoaded, delay: 250 * time.Millisecond, body: "string", models: flutterModels,
		navigate: flutterNavigate(false), launchGuard: true,
	},
	{
		name: "Flutter-iOS",
		source: "mesh-flutter-sdk mesh_link_controller.dart (as Flutter-Android); webview_flutter_wkwebview addJavaScriptChannel adds a WKUserScript at document start " +
			"'window.JSBridge = webkit.messageHandlers.JSBridge;' and passes message.body!.toString() (flutter/packages@45bdfa944e9b77db350dd32357d1affdb6f10c2b, " +
			"packages/webview_flutter/webview_flutter_wkwebview/lib/src/webkit_webview_controller.dart)",
		bridge: `window.webkit = { messageHandlers: { JSBridge: { postMessage: __lvPost('webkit.messageHandlers.JSBridge') } } }; window.JSBridge = webkit.messageHandlers.JSBridge;`,
		query:  "lng=en",
		script: flutterScript,
		when:   replyToLoaded, delay: 0, body: "string", models: flutterModels,
		navigate: flutterNavigate(true), launchGuard: true,
	},
}

func rnScript(tokens []map[string]string) string {
	s := "\n    window.meshSdkPlatform='reactNative';\n    window.meshSdkVersion='1.4.0';\n  "
	// The app passes settings (language) in both visits; with no tokens the SDK
	// injects JSON.stringify({}).
	if tokens == nil {
		return s + "\n        window.accessTokens='{}';\n      "
	}
	return s + "\n        window.accessTokens='" + jsonOf(tokens) + "';\n      "
}

func flutterScript(tokens []map[string]string) string {
	s := "window.meshSdkPlatform='flutter';window.meshSdkVersion='3.1.0';"
	if len(tokens) > 0 {
		s += "window.accessTokens=" + jsonOf(tokens) + ";"
	}
	return s
}

// nativeCall is one call of the bridge object.
type nativeCall struct {
	Seq  int             `json:"seq"`
	Via  string          `json:"via"`
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// nativeMsg is a message as the SDK decoded it.
type nativeMsg struct {
	Type    string
	Payload any
	Err     error // the SDK could not decode it (dropped)
}

// nativeShell plays the native side of one SDK around a browser tab.
type nativeShell struct {
	t   *testing.T
	sdk nativeSDK
	e   *env
	// removeScript removes the bridge and answer installed last (nil: none yet).
	removeScript func()
	offset       int // calls before the current visit
}

// install registers the SDK's bridge and its native answer for the documents the tab
// loads next; tokens are what the app passes in (nil: none).
func (s *nativeShell) install(tokens []map[string]string) {
	s.t.Helper()
	ms := s.sdk.delay.Milliseconds()
	var reply string
	switch s.sdk.when {
	case replyToLoaded:
		reply = fmt.Sprintf("window.__lvOnLoaded = () => setTimeout(() => { %s }, %d);", s.sdk.script(tokens), ms)
	case documentEnd:
		reply = fmt.Sprintf("document.addEventListener('DOMContentLoaded', () => { %s });", s.sdk.script(tokens))
	case pageFinished:
		reply = fmt.Sprintf("window.addEventListener('load', () => setTimeout(() => { %s }, %d));", s.sdk.script(tokens), ms)
	}
	src := bridgePrelude + s.sdk.bridge + "\n" + reply
	if s.removeScript != nil {
		s.removeScript()
	}
	s.removeScript = s.e.addInitScript(src)
	s.offset = len(s.rawCalls())
}

func (s *nativeShell) rawCalls() []nativeCall {
	s.t.Helper()
	raw := value(s.e, chromedp.Evaluate[string](`(location.protocol.startsWith('http') && sessionStorage.getItem('__lvCalls')) || '[]'`))
	var calls []nativeCall
	if err := json.Unmarshal([]byte(raw), &calls); err != nil {
		s.t.Fatal(err)
	}
	return calls
}

// decode is what the SDK makes of one bridge call: the body type it accepts, then
// the JSON inside, then its model of the message type.
func (sdk nativeSDK) decode(c nativeCall) nativeMsg {
	var raw map[string]any
	switch {
	case c.Kind != sdk.body:
		return nativeMsg{Err: fmt.Errorf("%s passed a %s; %s accepts only a %s", c.Via, c.Kind, sdk.name, sdk.body)}
	case c.Kind == "string":
		var s string
		if err := json.Unmarshal(c.Body, &s); err != nil {
			return nativeMsg{Err: err}
		}
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nativeMsg{Err: fmt.Errorf("body is not a JSON object: %q", s)}
		}
	default:
		if err := json.Unmarshal(c.Body, &raw); err != nil {
			return nativeMsg{Err: err}
		}
	}
	typ, _ := raw["type"].(string)
	m := nativeMsg{Type: typ, Payload: raw["payload"]}
	if typ == "" {
		m.Err = fmt.Errorf("no type: %v", raw)
	} else if sch, ok := sdk.models.payloads[typ]; ok {
		if err := sch.decode(m.Payload); err != nil {
			m.Err = fmt.Errorf("%s %s: %w", sdk.name, typ, err)
		}
	}
	return m
}

// messages returns the calls of this visit, in the page's order, decoded by the SDK;
// a message the SDK cannot decode fails the test.
func (s *nativeShell) messages() []nativeMsg {
	s.t.Helper()
	calls := s.rawCalls()
	if s.offset <= len(calls) {
		calls = calls[s.offset:]
	}
	var out []nativeMsg
	for _, c := range calls {
		m := s.sdk.decode(c)
		if m.Err != nil {
			s.t.Fatalf("%s (%s) cannot decode a Link message: %v\nraw: %s", s.sdk.name, s.sdk.source, m.Err, c.Body)
		}
		out = append(out, m)
	}
	return out
}

// waitFor waits until a message of type typ arrived and returns it.
func (s *nativeShell) waitFor(typ string) nativeMsg {
	s.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		for _, m := range s.messages() {
			if m.Type == typ {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.e.fail(fmt.Errorf("%s: no %s message; got %v", s.sdk.name, typ, types(s.messages())))
	panic("unreachable")
}

func types(ms []nativeMsg) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Type)
	}
	return out
}

// protocolTypes are the messages that are not progress events.
var protocolTypes = []string{"loaded", "brokerageAccountAccessToken", "delayedAuthentication", "transferFinished", "close", "done", "showClose"}

// TestNativeSDKs plays each of Mesh's native SDKs around Link in Chromium, with the
// SDK's bridge object, body type, URL parameters and token injection (form and
// moment) transcribed from its source, and checks the matrix of issue 11:
//   - first connect: the catalog (never before the SDK answered), OAuth by full-page
//     redirect, brokerageAccountAccessToken decodes with the SDK's model and carries
//     the tokenId; the close button sends showClose (the SDK's confirm-and-exit path);
//     done decodes and reaches the SDK's exit callback;
//   - return visit: the tokens arrive when the SDK sends them (in reply to `loaded`,
//     after a native delay, at document end or after page load): the account screen
//     with no authentication step and no catalog flash, the same tokenId reported;
//   - transfer: Back from the preview keeps the form, transferFinished decodes with
//     the SDK's model; a refused transfer is transferExecutionError, not transferFinished.
func TestNativeSDKs(t *testing.T) {
	e := newEnv(t)
	for i, sdk := range nativeSDKs {
		t.Run(sdk.name, func(t *testing.T) {
			runNativeSDK(t, e, sdk, fmt.Sprintf("native%d", i))
		})
	}
}

func runNativeSDK(t *testing.T, base *env, sdk nativeSDK, user string) {
	e := base.newBrowser(t)
	sh := &nativeShell{t: t, sdk: sdk, e: e}
	open := func() {
		u := e.linkURL(linkvault.PermissionWrite, user)
		sep := "?"
		if u.RawQuery != "" {
			sep = "&"
		}
		e.run(chromedp.Navigate(u.String() + sep + sdk.query))
	}
	screens := func() []string {
		return value(e, chromedp.Evaluate[[]string](`window.__lvScreens || []`))
	}
	shot := strings.ToLower(sdk.name)

	// First connect: no stored tokens. The catalog comes only after the SDK answered.
	sh.install(nil)
	open()
	e.run(chromedp.WaitVisible(chromedp.CSS("[data-screen=catalog]")))
	if s := screens(); len(s) == 0 || s[0] != "loading" {
		t.Fatalf("screens before the catalog: %v (want the neutral loading screen first)", s)
	}
	e.run(chromedp.Click(chromedp.CSS("[data-integration=sandbox]")), chromedp.Click(chromedp.CSS("#lv-continue")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user+"-sb"), chromedp.SendKeys(chromedp.CSS("#password"), "pw"),
		chromedp.Click(chromedp.CSS("#authorize")), chromedp.WaitVisible(chromedp.CSS("[data-screen=success]")))
	connected := sh.waitFor("brokerageAccountAccessToken")
	tokenID := tokenIDOf(t, connected.Payload)
	if c, err := e.st.DB.GetConnection(t.Context(), "app1", tokenID); err != nil || c.UserID != user || c.BrokerType != linkvault.BrokerSandbox {
		t.Fatalf("connection behind the reported tokenId: %+v %v", c, err)
	}
	e.shot("native-" + shot + "-1-connected")
	e.run(chromedp.Click(chromedp.CSS("#lv-close")))
	if m := sh.waitFor("showClose"); !slices.Contains(sdk.models.exits, m.Type) {
		t.Fatalf("%s has no exit path for showClose", sdk.name)
	}
	e.run(chromedp.Click(chromedp.CSS("#lv-done")))
	done := sh.waitFor("done")
	if p, _ := done.Payload.(map[string]any); p["page"] != "integrationConnectedPage" {
		t.Fatalf("done payload %v", done.Payload)
	}
	checkEvents(t, sdk, sh.messages())

	// Return visit: the SDK passes the stored token its own way, at its own moment.
	sh.install([]map[string]string{{"accountId": "", "accountName": "", "accessToken": tokenID, "brokerType": "sandbox", "brokerName": ""}})
	starts := e.calls.get("/link/api/oauth/start") + e.calls.get("/link/api/apikey")
	open()
	e.run(chromedp.WaitVisible(chromedp.CSS("#lv-positions")))
	e.shot("native-" + shot + "-2-return-visit")
	if s := screens(); slices.Contains(s, "catalog") || s[0] != "loading" || s[len(s)-1] != "account" {
		t.Fatalf("return visit screens %v: want loading then account, never the catalog", s)
	}
	again := sh.waitFor("brokerageAccountAccessToken")
	if got := tokenIDOf(t, again.Payload); got != tokenID {
		t.Fatalf("return visit reported tokenId %s, want %s", got, tokenID)
	}
	for _, m := range sh.messages() {
		if m.Type == "integrationSelected" || m.Type == "integrationOAuthStarted" || m.Type == "credentialsEntered" {
			t.Fatalf("return visit went through %s", m.Type)
		}
	}
	if n := e.calls.get("/link/api/oauth/start") + e.calls.get("/link/api/apikey"); n != starts {
		t.Fatalf("%d authentication starts on the return visit", n-starts)
	}

	// Transfer: form, preview, Back keeps the form, confirm, transferFinished.
	fillTransfer(e, "ETH", "ethereum", "0x52908400098527886E0F7030069857D2E4169EE7", "0.25")
	e.run(chromedp.Click(chromedp.CSS("#lv-submit")), chromedp.WaitVisible(chromedp.CSS("[data-screen=transfer-preview]")),
		chromedp.Click(chromedp.CSS("#lv-back")), chromedp.WaitVisible(chromedp.CSS("[data-screen=transfer]")))
	checkTransferForm(e, "ETH", "ethereum", "0x52908400098527886E0F7030069857D2E4169EE7", "0.25")
	e.run(chromedp.Click(chromedp.CSS("#lv-submit")), chromedp.WaitVisible(chromedp.CSS("#lv-confirm")),
		chromedp.Click(chromedp.CSS("#lv-confirm")), chromedp.WaitVisible(chromedp.CSS("[data-screen=transfer-done]")))
	fin := sh.waitFor("transferFinished")
	p, _ := fin.Payload.(map[string]any)
	if p["status"] != "success" || p["symbol"] != "ETH" || p["amount"] != 0.25 ||
		// Mesh's network id of Ethereum (FrontFin/mesh-web-sdk swagger.json at e7c178a9).
		p["networkId"] != "e3c7fdd8-b1fc-4e51-85ae-bb276e075611" || p["txId"] == "" {
		t.Fatalf("transferFinished %v", fin.Payload)
	}
	e.shot("native-" + shot + "-3-transfer-done")
	e.run(chromedp.Click(chromedp.CSS("#lv-done")))
	done = sh.waitFor("done")
	if p, _ := done.Payload.(map[string]any); p["page"] != "transferExecutedPage" || p["transfer"] == nil {
		t.Fatalf("done after the transfer: %v", done.Payload)
	}
	checkEvents(t, sdk, sh.messages())
	t.Logf("%s: first connect, return visit (tokenId %s…), transfer and exit decoded with the SDK's models; source: %s", sdk.name, tokenID[:6], sdk.source)
}

// checkEvents: every progress event the page sent is one the SDK knows, so the app's
// onEvent sees it (SDKs drop names they do not list).
func checkEvents(t *testing.T, sdk nativeSDK, ms []nativeMsg) {
	t.Helper()
	for _, m := range ms {
		if slices.Contains(protocolTypes, m.Type) || sdk.models.events == nil {
			continue
		}
		if !slices.Contains(sdk.models.events, m.Type) {
			t.Logf("note: %s does not forward the event %q to the app (not in its list)", sdk.name, m.Type)
		}
	}
}

func tokenIDOf(t *testing.T, payload any) string {
	t.Helper()
	p, _ := payload.(map[string]any)
	ats, _ := p["accountTokens"].([]any)
	if len(ats) == 0 {
		t.Fatalf("payload without accountTokens: %v", payload)
	}
	at, _ := ats[0].(map[string]any)
	id, _ := at["accessToken"].(string)
	if tid, _ := at["tokenId"].(string); id == "" || tid != id {
		t.Fatalf("account token %v: accessToken must equal tokenId", at)
	}
	return id
}

// fillTransfer opens the transfer form from the account screen and fills it in.
func fillTransfer(e *env, symbol, network, address, amount string) {
	e.t.Helper()
	e.run(chromedp.Click(chromedp.CSS("#lv-transfer")), chromedp.WaitVisible(chromedp.CSS("[data-screen=transfer]")),
		chromedp.Evaluate[chromedp.Void](`for (const [sel, v] of [['#lv-symbol', `+jsString(symbol)+`], ['#lv-network', `+jsString(network)+`]]) {
  const el = document.querySelector(sel); el.value = v; el.dispatchEvent(new Event('change', { bubbles: true })); }`),
		chromedp.SendKeys(chromedp.CSS("#lv-address"), address), chromedp.SendKeys(chromedp.CSS("#lv-amount"), amount))
}

// checkTransferForm: the form shows what was entered (after Back from the preview),
// and the asset list still has the account's assets.
func checkTransferForm(e *env, symbol, network, address, amount string) {
	e.t.Helper()
	got := value(e, chromedp.Evaluate[[]string](`['#lv-symbol', '#lv-network', '#lv-address', '#lv-amount'].map((s) => document.querySelector(s).value)`))
	if want := []string{symbol, network, address, amount}; !slices.Equal(got, want) {
		e.fail(fmt.Errorf("transfer form after Back: %v, want %v", got, want))
	}
	if n := value(e, chromedp.Evaluate[int](`document.querySelectorAll('#lv-symbol option').length`)); n < 2 {
		e.fail(fmt.Errorf("asset list has %d options after Back", n))
	}
}

// TestNativeForeignTokensAreDropped: Android's SDK (tokens in reply to loaded, after a
// native delay) passes another user's tokenId and a made-up one: Link drops both
// silently and shows the catalog, after the loading screen, reporting nothing.
func TestNativeForeignTokensAreDropped(t *testing.T) {
	base := newEnv(t)
	p := base.connectHeadless("olga", linkvault.PermissionWrite)
	e := base.newBrowser(t)
	sdk := nativeSDKs[1]
	sh := &nativeShell{t: t, sdk: sdk, e: e}
	sh.install([]map[string]string{
		storedToken(p.AccountTokens[0].TokenID),
		storedToken("never-issued-token-id-000000"),
	})
	u := e.linkURL(linkvault.PermissionWrite, "not-olga")
	e.run(chromedp.Navigate(u.String()+"?"+sdk.query), chromedp.WaitVisible(chromedp.CSS("[data-screen=catalog]")))
	if got := value(e, chromedp.Evaluate[[]string](`window.__lvScreens`)); !slices.Equal(got, []string{"loading", "catalog"}) {
		t.Fatalf("screens %v, want loading then catalog", got)
	}
	if n := e.calls.get("/link/api/tokens"); n != 1 {
		t.Fatalf("%d token checks, want the one with the SDK's tokens", n)
	}
	for _, m := range sh.messages() {
		if m.Type == "brokerageAccountAccessToken" {
			t.Fatalf("a foreign token was reported: %v", m.Payload)
		}
	}
}
