package browser_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

// The web side of issue 11's matrix, driven through Mesh's real web SDK: the npm
// package @meshconnect/web-link-sdk (version pinned in web/package.json, installed by
// scripts/webcheck) bundled with esbuild at test time and loaded by an app page on
// another origin, pointed at linkvault's linkTokens unchanged. Nothing of Mesh's is
// committed; the bundle lives in the test's temporary directory.

// meshBundle bundles Mesh's SDK for the browser, or skips the test when the npm
// tools are not installed.
func meshBundle(t *testing.T) []byte {
	t.Helper()
	esbuild := nodeModule(t, ".bin/esbuild")
	nodeModule(t, "@meshconnect/web-link-sdk/index.js")
	cmd := exec.Command(esbuild, "--bundle", "--format=esm", "--platform=browser", "--log-level=warning")
	cmd.Dir = filepath.Join(repoRoot(t), "web")
	cmd.Stdin = strings.NewReader("export { createLink } from '@meshconnect/web-link-sdk';\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("esbuild: %v\n%s", err, stderr.String())
	}
	return out
}

// meshHostPage is the app page: it opens Link with Mesh's SDK and records every
// callback, and every raw message the Link frame posts (to decode with the web models).
// meshLinkShouldSkipPrewarm keeps Mesh's SDK from loading its prewarm frame from
// Mesh's site (docs/mobile.md tells apps to set it too).
const meshHostPage = `<!doctype html><html><head><meta charset="utf-8"><title>Mesh SDK app</title></head><body>
<h1>App using @meshconnect/web-link-sdk</h1>
<iframe id="app-frame" style="width:440px;height:680px;border:1px solid #ccc"></iframe>
<script>window.meshLinkShouldSkipPrewarm = true;</script>
<script type="module">
import { createLink } from '/mesh.js';
window.log = []; window.raw = [];
window.addEventListener('message', (e) => {
  if (e.origin === '{{LV}}' && e.data && typeof e.data.type === 'string') window.raw.push(e.data);
});
window.openMesh = (linkToken, embedded, tokens) => {
  window.log = []; window.raw = [];
  const link = createLink({
    renderType: embedded ? 'embedded' : 'overlay',
    accessTokens: tokens || undefined,
    onIntegrationConnected: (p) => window.log.push({ cb: 'onIntegrationConnected', payload: p }),
    onExit: (error, summary) => window.log.push({ cb: 'onExit', error: error === undefined ? null : error, payload: summary === undefined ? null : summary }),
    onTransferFinished: (p) => window.log.push({ cb: 'onTransferFinished', payload: p }),
    onEvent: (ev) => window.log.push({ cb: 'onEvent', type: ev.type, payload: ev.payload === undefined ? null : ev.payload }),
  });
  window.link = link;
  link.openLink(linkToken, embedded ? 'app-frame' : undefined);
};
window.ready = true;
</script></body></html>`

type meshCall struct {
	CB      string          `json:"cb"`
	Type    string          `json:"type"`
	Error   *string         `json:"error"`
	Payload json.RawMessage `json:"payload"`
}

type meshApp struct {
	e   *env
	url string
}

func newMeshApp(t *testing.T, e *env) *meshApp {
	bundle := meshBundle(t)
	page := strings.ReplaceAll(meshHostPage, "{{LV}}", e.st.URL)
	host := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mesh.js" {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(bundle)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	e.st.AllowOrigins(t, "app1", host)
	return &meshApp{e: e, url: host}
}

func (a *meshApp) load() {
	a.e.run(chromedp.Navigate(a.url + "/"))
	value(a.e, chromedp.Poll[bool](`window.ready === true`))
}

// open calls Mesh's openLink with a fresh write-scoped linkToken for user.
func (a *meshApp) open(user string, embedded bool, tokenIDs ...string) {
	a.e.t.Helper()
	lt := a.e.st.LinkToken(a.e.t, "app1", linkvault.PermissionWrite, user)
	var tokens []map[string]string
	for _, id := range tokenIDs {
		tokens = append(tokens, storedToken(id))
	}
	value(a.e, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.openMesh(%s, %v, %s)`, jsString(lt), embedded, jsonOf(tokens))))
}

func (a *meshApp) calls() []meshCall {
	a.e.t.Helper()
	raw := value(a.e, chromedp.Evaluate[string](`JSON.stringify(window.log)`))
	var out []meshCall
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		a.e.t.Fatal(err)
	}
	return out
}

// waitCall waits for a callback cb (and, for onEvent, of type typ) and returns it.
func (a *meshApp) waitCall(cb, typ string) meshCall {
	a.e.t.Helper()
	cond := fmt.Sprintf(`window.log.some((c) => c.cb === %s && (%s === '' || c.type === %s))`, jsString(cb), jsString(typ), jsString(typ))
	ok := value(a.e, chromedp.Poll[bool](cond))
	if !ok {
		a.e.fail(fmt.Errorf("no %s %s", cb, typ))
	}
	for _, c := range a.calls() {
		if c.CB == cb && (typ == "" || c.Type == typ) {
			return c
		}
	}
	panic("unreachable")
}

// checkRaw decodes every message the Link frame posted with Mesh's web models.
func (a *meshApp) checkRaw() []string {
	a.e.t.Helper()
	raw := value(a.e, chromedp.Evaluate[string](`JSON.stringify(window.raw)`))
	var msgs []map[string]any
	if err := json.Unmarshal([]byte(raw), &msgs); err != nil {
		a.e.t.Fatal(err)
	}
	var types []string
	for _, m := range msgs {
		typ, _ := m["type"].(string)
		types = append(types, typ)
		if s, ok := webModels.payloads[typ]; ok {
			if err := s.decode(m["payload"]); err != nil {
				a.e.t.Fatalf("Link message %s does not decode with Mesh's web types: %v\n%v", typ, err, m)
			}
		}
		if !slices.Contains(protocolTypes, typ) && !slices.Contains(webModels.events, typ) {
			a.e.t.Fatalf("Link sent %q, which Mesh's web SDK does not forward to onEvent", typ)
		}
	}
	return types
}

const meshOverlayFrame = "#mesh-link-popup__iframe"

// TestMeshWebSDKOverlay: Mesh's real web SDK in its overlay mode against linkvault.
// First connect (Coinbase consent in a popup) → onIntegrationConnected({accessToken})
// with the tokenId, done → onExit with a SessionSummary; return visit with the stored
// tokenId → account screen with no authentication, same tokenId; the transfer screens
// (form, preview, Back keeping the form, confirm → onTransferFinished; a refused
// transfer → transferExecutionError and no onTransferFinished); the close button →
// onExit. Every message the page posts decodes with Mesh's web types.
func TestMeshWebSDKOverlay(t *testing.T) {
	e := newEnv(t)
	app := newMeshApp(t, e)
	app.load()

	app.open("mallory", false)
	e.waitInFrame(meshOverlayFrame, "[data-screen=catalog]")
	e.clickInFrame(meshOverlayFrame, "[data-integration=coinbase]")
	e.waitInFrame(meshOverlayFrame, "[data-screen=oauth]")
	e.consentInPopup(meshOverlayFrame, "#lv-continue", "mallory-cb", "pw", "")
	e.waitInFrame(meshOverlayFrame, "[data-screen=success]")
	connected := app.waitCall("onIntegrationConnected", "")
	var lp struct {
		AccessToken *struct {
			BrokerType    string `json:"brokerType"`
			AccountTokens []struct {
				TokenID     string `json:"tokenId"`
				AccessToken string `json:"accessToken"`
			} `json:"accountTokens"`
		} `json:"accessToken"`
	}
	if err := json.Unmarshal(connected.Payload, &lp); err != nil || lp.AccessToken == nil || len(lp.AccessToken.AccountTokens) != 1 || lp.AccessToken.BrokerType != "coinbase" {
		t.Fatalf("onIntegrationConnected payload %s (%v)", connected.Payload, err)
	}
	tokenID := lp.AccessToken.AccountTokens[0].TokenID
	if c, err := e.st.DB.GetConnection(t.Context(), "app1", tokenID); err != nil || c.UserID != "mallory" || lp.AccessToken.AccountTokens[0].AccessToken != tokenID {
		t.Fatalf("connection behind tokenId %q: %+v %v", tokenID, c, err)
	}
	app.waitCall("onEvent", "integrationConnected")
	e.shot("mesh-sdk-01-overlay-connected")
	e.clickInFrame(meshOverlayFrame, "#lv-done")
	exit := app.waitCall("onExit", "")
	if !strings.Contains(string(exit.Payload), `"page":"integrationConnectedPage"`) || exit.Error != nil {
		t.Fatalf("onExit after done: %v %s", exit.Error, exit.Payload)
	}
	e.run(chromedp.WaitNotPresent(chromedp.CSS("#mesh-link-popup")))
	app.checkRaw()

	// Return visit with the stored tokenId.
	starts := e.calls.get("/link/api/oauth/start") + e.calls.get("/link/api/apikey")
	app.open("mallory", false, tokenID)
	e.waitInFrame(meshOverlayFrame, "#lv-positions")
	e.shot("mesh-sdk-02-overlay-return-visit")
	again := app.waitCall("onIntegrationConnected", "")
	if !strings.Contains(string(again.Payload), `"tokenId":"`+tokenID+`"`) {
		t.Fatalf("return visit reported %s, want tokenId %s", again.Payload, tokenID)
	}
	if n := e.calls.get("/link/api/oauth/start") + e.calls.get("/link/api/apikey"); n != starts {
		t.Fatal("the return visit started an authentication")
	}
	for _, c := range app.calls() {
		if c.CB == "onEvent" && (c.Type == "integrationSelected" || c.Type == "integrationOAuthStarted") {
			t.Fatalf("return visit went through %s", c.Type)
		}
	}

	// Transfer screens: form, preview, Back (the form as entered), confirm.
	const addr = "0x52908400098527886E0F7030069857D2E4169EE7"
	inFrameFill(e, meshOverlayFrame, "ETH", "ethereum", addr, "0.5")
	e.shot("mesh-sdk-03-transfer-form")
	e.clickInFrame(meshOverlayFrame, "#lv-submit")
	e.waitInFrame(meshOverlayFrame, "[data-screen=transfer-preview]")
	if got := e.textInFrame(meshOverlayFrame, "#lv-pv-address-text"); got != addr {
		t.Fatalf("preview address %q", got)
	}
	e.shot("mesh-sdk-04-transfer-preview")
	app.waitCall("onEvent", "transferPreviewed")
	e.clickInFrame(meshOverlayFrame, "#lv-back")
	e.waitInFrame(meshOverlayFrame, "[data-screen=transfer]")
	var got []string
	for _, sel := range []string{"#lv-symbol", "#lv-network", "#lv-address", "#lv-amount"} {
		got = append(got, inFrame(e, meshOverlayFrame, func(f *chromedp.Node) chromedp.Action[string] {
			return chromedp.Value(chromedp.CSS(sel), chromedp.FromNode(f))
		}))
	}
	// The asset list still has the account's assets (it was emptied before: issue 12).
	options := inFrame(e, meshOverlayFrame, func(f *chromedp.Node) chromedp.Action[string] {
		return chromedp.TextContent(chromedp.CSS("#lv-symbol"), chromedp.FromNode(f))
	})
	if want := []string{"ETH", "ethereum", addr, "0.5"}; !slices.Equal(got, want) || !strings.Contains(options, "BTC") || !strings.Contains(options, "ETH") {
		t.Fatalf("form after Back from the preview: %v with assets %q, want %v and the asset list", got, options, want)
	}
	e.shot("mesh-sdk-05-transfer-back")
	e.clickInFrame(meshOverlayFrame, "#lv-submit")
	e.clickInFrame(meshOverlayFrame, "#lv-confirm")
	e.waitInFrame(meshOverlayFrame, "[data-screen=transfer-done]")
	e.shot("mesh-sdk-06-transfer-done")
	fin := app.waitCall("onTransferFinished", "")
	var tf map[string]any
	_ = json.Unmarshal(fin.Payload, &tf)
	if err := webTransferFinished.decode(tf); err != nil || tf["symbol"] != "ETH" || tf["amount"] != 0.5 || tf["toAddress"] != addr {
		t.Fatalf("onTransferFinished %v (%v)", tf, err)
	}
	app.waitCall("onEvent", "transferCompleted")
	e.clickInFrame(meshOverlayFrame, "#lv-done")
	exit = app.waitCall("onExit", "")
	if !strings.Contains(string(exit.Payload), `"page":"transferExecutedPage"`) || !strings.Contains(string(exit.Payload), `"transactionId":"`) {
		t.Fatalf("onExit after the transfer: %s", exit.Payload)
	}
	app.checkRaw()

	// More than the balance is refused on the form, before any preview. A preview the
	// server refuses (the exchange down) shows its error on the form and the app hears
	// transferPreviewError, never onTransferFinished; then the close button → onExit.
	app.open("mallory", false, tokenID)
	e.waitInFrame(meshOverlayFrame, "#lv-positions")
	previews := e.calls.get("/link/api/transfer/preview")
	inFrameFill(e, meshOverlayFrame, "ETH", "ethereum", addr, "5000")
	e.clickInFrame(meshOverlayFrame, "#lv-submit")
	if msg := e.textInFrame(meshOverlayFrame, "#lv-amount-error"); !strings.Contains(msg, "More than is available") {
		t.Fatalf("5000 ETH: %q", msg)
	}
	if n := e.calls.get("/link/api/transfer/preview"); n != previews {
		t.Fatal("a preview was asked for more than the balance")
	}
	e.setInFrame(meshOverlayFrame, "#lv-amount", "0.1")
	e.st.Sim.Coinbase.SetFaults(exchangesim.Faults{ErrorRate: 1})
	e.clickInFrame(meshOverlayFrame, "#lv-submit")
	if msg := e.textInFrame(meshOverlayFrame, "#lv-error"); msg == "" {
		t.Fatal("no error shown for a refused transfer")
	}
	e.st.Sim.Coinbase.SetFaults(exchangesim.Faults{})
	e.shot("mesh-sdk-07-transfer-refused")
	failed := app.waitCall("onEvent", "transferPreviewError")
	if !strings.Contains(string(failed.Payload), `"errorMessage":"`) {
		t.Fatalf("transferPreviewError payload %s", failed.Payload)
	}
	for _, c := range app.calls() {
		if c.CB == "onTransferFinished" {
			t.Fatalf("a refused transfer reached onTransferFinished: %s", c.Payload)
		}
	}
	e.clickInFrame(meshOverlayFrame, "#lv-close")
	exit = app.waitCall("onExit", "")
	if !strings.Contains(string(exit.Payload), `"page":"transferFormPage"`) {
		t.Fatalf("onExit from the close button: %s", exit.Payload)
	}
	e.run(chromedp.WaitNotPresent(chromedp.CSS("#mesh-link-popup")))
	app.checkRaw()
}

// TestMeshWebSDKEmbedded: Mesh's real web SDK in embedded mode (the app's own iframe):
// the return user lands on the account with no close button of Link's own (rt=embedded),
// and closeLinkRequested makes Link close itself → onExit with a SessionSummary.
func TestMeshWebSDKEmbedded(t *testing.T) {
	e := newEnv(t)
	app := newMeshApp(t, e)
	// Connected headlessly first; the app stored the tokenId.
	tokenID := e.connectHeadless("nina", linkvault.PermissionWrite).AccountTokens[0].TokenID
	app.load()
	app.open("nina", true, tokenID)
	const frame = "#app-frame"
	e.waitInFrame(frame, "#lv-positions")
	e.checkEmbedded(frame)
	again := app.waitCall("onIntegrationConnected", "")
	if !strings.Contains(string(again.Payload), tokenID) {
		t.Fatalf("embedded return visit reported %s", again.Payload)
	}
	e.shot("mesh-sdk-08-embedded-return-visit")
	value(e, chromedp.Evaluate[chromedp.Void](`window.link.closeLinkRequested()`))
	exit := app.waitCall("onExit", "")
	if !strings.Contains(string(exit.Payload), `"page":"accountPage"`) {
		t.Fatalf("onExit after closeLinkRequested: %s", exit.Payload)
	}
	app.checkRaw()
}

// inFrameFill opens the transfer form from the account screen in frame and fills it.
func inFrameFill(e *env, frame, symbol, network, address, amount string) {
	e.t.Helper()
	e.clickInFrame(frame, "#lv-transfer")
	e.waitInFrame(frame, "[data-screen=transfer]")
	e.fillTransferForm(frame, symbol, network, address, amount)
}

// TestMeshWebSDKExpiredLinkEscape: a linkToken already used opens Link's "link expired"
// page in Mesh's overlay. Escape closes it (onExit with the error page's summary), as it
// closes every screen of the Link page; main ignored Escape there, leaving a keyboard
// user to find the Close button.
func TestMeshWebSDKExpiredLinkEscape(t *testing.T) {
	e := newEnv(t)
	app := newMeshApp(t, e)
	app.load()
	lt := e.st.LinkToken(t, "app1", linkvault.PermissionRead, "wes")
	if _, err := linktest.Open(t.Context(), nil, lt); err != nil {
		t.Fatal(err)
	}
	value(e, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.openMesh(%s, false, null)`, jsString(lt))))
	e.waitInFrame(meshOverlayFrame, "#lv-exit")
	inFrame(e, meshOverlayFrame, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.Focus(chromedp.CSS("#lv-exit"), chromedp.FromNode(f))
	})
	e.run(chromedp.KeyEvent(kb.Escape))
	exit := app.waitCall("onExit", "")
	if !strings.Contains(string(exit.Payload), `"page":"errorPage"`) || exit.Error == nil || *exit.Error == "" {
		t.Fatalf("onExit after Escape on the expired page: %v %s", exit.Error, exit.Payload)
	}
	e.run(chromedp.WaitNotPresent(chromedp.CSS("#mesh-link-popup")))
}
