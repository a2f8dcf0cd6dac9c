package browser_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

const overlayFrame = "[data-linkvault=overlay] iframe"

// TestFirstConnectThenReturnVisit: a user connects Coinbase through the overlay (consent
// in a popup), the app stores the tokenId; on the next visit the app passes it back and
// Link shows the account and its holdings with no authentication step at all.
func TestFirstConnectThenReturnVisit(t *testing.T) {
	e := newEnv(t)
	e.signIn("alice")
	e.shot("01-app-first-visit")

	e.run(chromedp.Click(chromedp.CSS("#connect")))
	e.waitInFrame(overlayFrame, "[data-screen=catalog]")
	e.shot("02-link-catalog")
	e.clickInFrame(overlayFrame, "[data-integration=coinbase]")
	e.waitInFrame(overlayFrame, "[data-screen=oauth]")
	e.consentInPopup(overlayFrame, "#lv-continue", "alice-cb", "s3cret", "03-exchange-consent")
	e.waitInFrame(overlayFrame, "[data-screen=success]")
	e.shot("04-link-connected")
	e.clickInFrame(overlayFrame, "#lv-done")
	e.run(chromedp.WaitNotPresent(chromedp.CSS("[data-linkvault=overlay]")),
		chromedp.WaitVisible(chromedp.CSS("[data-token-id]")))
	ids := e.storedTokenIDs()
	if len(ids) != 1 {
		t.Fatalf("app stored %v", ids)
	}
	tokenID := ids[0]
	c, err := e.st.DB.GetConnection(t.Context(), "app1", tokenID)
	if err != nil || c.UserID != "alice" || c.BrokerType != linkvault.BrokerCoinbase || c.Scope != linkvault.PermissionWrite {
		t.Fatalf("connection behind the stored tokenId: %+v %v", c, err)
	}
	e.run(chromedp.WaitVisible(chromedp.Search(`//div[@class="holdings"][contains(., "BTC")]`)))
	e.shot("05-app-connected")
	if ev := e.events(); !strings.Contains(ev, "integrationOAuthStarted") || !strings.Contains(ev, "integrationConnected coinbase "+tokenID) {
		t.Fatalf("app events: %s", ev)
	}

	// Return visit: a new page load; the app passes the stored tokenId into Link.
	logins := e.st.Sim.Coinbase.Stats().Logins
	e.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-action=open]`)), chromedp.Click(chromedp.CSS(`[data-action=open]`)))
	e.waitInFrame(overlayFrame, "#lv-positions")
	e.shot("06-link-return-visit-account")
	if got := e.textInFrame(overlayFrame, "h1"); !strings.Contains(got, "Coinbase") {
		t.Fatalf("return visit heading %q", got)
	}
	e.run(chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[contains(., "integrationConnected coinbase ` + tokenID + `")]`)))
	latest := value(e, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#events li')].map(e => e.textContent)`))
	// Everything logged since the reload: no authentication step of any kind.
	for _, ev := range latest {
		for _, auth := range []string{"integrationOAuthStarted", "credentialsEntered", "integrationMfaRequired", "integrationSelected"} {
			if strings.HasPrefix(ev, auth) {
				t.Fatalf("return visit went through %s: %v", auth, latest)
			}
		}
	}
	if got := e.st.Sim.Coinbase.Stats().Logins; got != logins {
		t.Fatalf("the exchange saw %d new logins on the return visit", got-logins)
	}
	if n := e.calls.get("/link/api/oauth/start") + e.calls.get("/link/api/apikey"); n != 1 {
		t.Fatalf("%d authentication starts in total, want only the first visit's", n)
	}

	// The used Link URL cannot be opened again.
	lt := e.st.LinkToken(t, "app1", linkvault.PermissionRead, "alice")
	u, _ := linktest.DecodeLinkToken(lt)
	if _, err := linktest.Open(t.Context(), nil, lt); err != nil {
		t.Fatal(err)
	}
	e.run(chromedp.Navigate(u.String()), chromedp.WaitVisible(chromedp.CSS("#lv-message")))
	e.shot("07-link-expired")
}

// TestReturnVisitWhenTokensCannotBeChecked: the answer to the check of the stored
// tokenIds is lost (a proxy's 502). Link must not greet the return user with the
// exchange catalog, as if they had no connection (main did: connecting again there
// replaces the connection the app stored); it says something went wrong and Try again
// opens the account.
func TestReturnVisitWhenTokensCannotBeChecked(t *testing.T) {
	e := newEnv(t)
	e.openAccount("uma", "uma-cb", "s3cret", "")
	e.clickInFrame(overlayFrame, "#lv-done")
	e.run(chromedp.WaitNotPresent(chromedp.CSS("[data-linkvault=overlay]")))
	e.calls.loseNextAnswer("/link/api/tokens")
	e.run(chromedp.Click(chromedp.CSS(`[data-action=open]`)))
	e.waitInFrame(overlayFrame, "[data-screen=catalog], [data-screen=error]")
	e.shotBoth("return-visit-tokens-unchecked")
	if e.visibleInFrame("[data-screen=catalog]") {
		t.Fatal("a return user whose tokens could not be checked sees the catalog of a new user")
	}
	e.clickInFrame(overlayFrame, "#lv-retry")
	e.waitInFrame(overlayFrame, "#lv-positions")
	if n := e.calls.get("/link/api/oauth/start") + e.calls.get("/link/api/apikey"); n != 1 {
		t.Fatalf("%d authentication starts, want only the first visit's", n)
	}
}

// TestReauthAfterRevocationKeepsTokenID: the exchange revokes the user's grant; the next
// Link session with the stored tokenId asks only for that integration's sign-in and
// reports the same tokenId.
func TestReauthAfterRevocationKeepsTokenID(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// First connection, made headlessly, stored in the example app as its page would.
	p := e.connectHeadless("bob", linkvault.PermissionWrite)
	tokenID := p.AccountTokens[0].TokenID
	e.signIn("bob")
	payload, _ := json.Marshal(p)
	stored := value(e, chromedp.Evaluate[bool](`fetch('/api/connections', {method:'POST', headers:{'Content-Type':'application/json'}, body:`+jsString(string(payload))+`}).then(r => r.ok)`, chromedp.EvalAwaitPromise))
	if !stored {
		t.Fatal("example app did not store the payload")
	}

	// The exchange revokes every grant of the user (admin API, over HTTP).
	resp, err := http.Post(e.st.Sim.Coinbase.URL+"/_sim/users/bob-cb/revoke", "application/json", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	resp.Body.Close()

	e.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-action=open]`)), chromedp.Click(chromedp.CSS(`[data-action=open]`)))
	e.waitInFrame(overlayFrame, "[data-screen=reauth]")
	e.shot("08-link-reauth")
	e.consentInPopup(overlayFrame, "#lv-continue", "bob-cb", "pw", "")
	e.waitInFrame(overlayFrame, "[data-screen=success]")
	e.shot("09-link-reconnected")
	e.run(chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[contains(., "integrationConnected coinbase ` + tokenID + `")]`)))
	c, err := e.st.DB.GetConnection(ctx, "app1", tokenID)
	if err != nil || c.Status != linkvault.StatusActive {
		t.Fatalf("after re-auth: %+v %v", c, err)
	}
	if cs, _ := e.st.DB.ListUserConnections(ctx, "app1", "bob"); len(cs) != 1 {
		t.Fatalf("bob has %d connections, want the one re-attached", len(cs))
	}
}

// TestEmbeddedModeWithAPIKey: Link inside the app's own iframe (no close chrome,
// rt=embedded), Binance connected with an API key: the page says what to create at the
// exchange, a key Binance refuses is explained, and a right one connects.
func TestEmbeddedModeWithAPIKey(t *testing.T) {
	e := newEnv(t)
	if err := e.st.Sim.Binance.CreateUser(exchangesim.User{Username: "carol@example.com", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	e.signIn("carol")
	e.run(chromedp.Click(chromedp.CSS("#embedded")), chromedp.Click(chromedp.CSS("#connect")))
	const frame = "#link-frame"
	e.waitInFrame(frame, "[data-screen=catalog]")
	e.checkEmbedded(frame)
	e.clickInFrame(frame, "[data-integration=binanceInternationalDirect]")
	e.waitInFrame(frame, "#lv-apikey")
	// A write session: the steps ask for reading and withdrawals, restricted to the
	// service's addresses, and link to the exchange's API Management page.
	if steps := e.textInFrame(frame, "#lv-apikey-steps"); !strings.Contains(steps, "Enable Withdrawals") || !strings.Contains(steps, "127.0.0.1") ||
		!strings.Contains(steps, "Enable Spot & Margin Trading") {
		t.Fatalf("instructions %q", steps)
	}
	manage := e.attrInFrame(frame, "#lv-apikey-manage", "href")
	if manage.Value != e.st.Sim.Binance.URL+exchangesim.BinanceKeyPagePath {
		t.Fatalf("API Management link %q", manage.Value)
	}
	e.shot("10-embedded-api-key")
	e.typeInFrame(frame, "#lv-apikey", "NotAKeyAnyoneCreated0123456789")
	e.typeInFrame(frame, "#lv-apisecret", "NorASecret0123456789abcdefgh")
	e.clickInFrame(frame, "#lv-submit")
	if got := e.textInFrame(frame, "#lv-error"); !strings.Contains(got, "did not accept") {
		t.Fatalf("refused key message %q", got)
	}
	e.shot("11-embedded-api-key-refused")
	// The user creates the key on the exchange's page the link pointed at.
	e.enterNewAPIKey(frame, manage.Value, "carol@example.com")
	e.shot("12-embedded-connected")
	e.run(chromedp.WaitVisible(chromedp.Search(`//li[@data-broker="binanceInternationalDirect"]//div[@data-token-id]`)))
	if ev := e.events(); !strings.Contains(ev, "credentialsEntered") || !strings.Contains(ev, "integrationConnectionError") {
		t.Fatalf("events: %s", ev)
	}
}

// TestForeignOriginMessagesAreIgnored: a page of another origin inside the app's page
// posts forged Link messages both ways: stored tokens and a close request to the Link
// frame, a fake connected account to the app. Link stays where it was and the SDK
// reports nothing. Then the app itself passes the token and Link does use it, so the
// check is not vacuous.
func TestForeignOriginMessagesAreIgnored(t *testing.T) {
	e := newEnv(t)
	tokenID := e.connectHeadless("dave", linkvault.PermissionWrite).AccountTokens[0].TokenID

	// The attacker page: another origin (localhost instead of 127.0.0.1).
	attacker := serveOn(t, "localhost", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(attackerPage))
	}))
	// The host page: the app's origin, using the SDK in embedded mode.
	host := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := strings.NewReplacer("{{LV}}", e.st.URL, "{{ATTACKER}}", attacker).Replace(hostPage)
		_, _ = w.Write([]byte(page))
	}))
	e.st.AllowOrigins(t, "app1", host)
	lt := e.st.LinkToken(t, "app1", linkvault.PermissionWrite, "dave")
	e.run(chromedp.Navigate(host + "/#" + lt))
	e.waitInFrame("#lv", "[data-screen=catalog]")
	tokensCalls := e.calls.get("/link/api/tokens")

	// Let the attacker post its forgeries, then wait for its "sent" marker.
	value(e, chromedp.Evaluate[chromedp.Void](`window.startAttack(`+jsString(tokenID)+`)`))
	value(e, chromedp.Poll[bool](`window.attackSent === true`, chromedp.WithPollingTimeout(10*time.Second)))
	// Absence can only be observed after a grace period; nothing below measures time.
	time.Sleep(time.Second)
	type hostState struct {
		Connected int    `json:"connected"`
		Exits     int    `json:"exits"`
		Events    string `json:"events"`
		Seen      string `json:"seen"`
	}
	state := value(e, chromedp.Evaluate[hostState](`({connected: window.connected.length, exits: window.exits, events: window.events.join(','), seen: window.seen.join(' | ')})`))
	if state.Connected != 0 || state.Exits != 0 {
		t.Fatalf("the SDK accepted forged messages: %+v", state)
	}
	e.waitInFrame("#lv", "[data-screen=catalog]")
	if n := e.calls.get("/link/api/tokens"); n != tokensCalls {
		t.Fatalf("Link validated forged tokens (%d calls)", n-tokensCalls)
	}
	e.shot("13-foreign-origin-ignored")

	// Control: the same token from the real parent is used.
	lt2 := e.st.LinkToken(t, "app1", linkvault.PermissionWrite, "dave")
	value(e, chromedp.Evaluate[chromedp.Void](`window.openWithToken(`+jsString(tokenID)+`, `+jsString(lt2)+`)`))
	e.waitInFrame("#lv", "#lv-positions")
	value(e, chromedp.Poll[bool](`window.connected.includes(`+jsString(tokenID)+`) && !window.connected.includes('forged')`, chromedp.WithPollingTimeout(10*time.Second)))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// hostPage embeds Link with the SDK in its own iframe (#lv) and the attacker frame.
const hostPage = `<!doctype html><html><head><meta charset="utf-8"><title>host</title></head><body>
<iframe id="lv" style="width:440px;height:640px;border:1px solid #ccc"></iframe>
<iframe id="attacker" name="attacker" style="width:300px;height:100px"></iframe>
<script type="module">
const { createLink } = await import('{{LV}}/sdk/link.js');
window.connected = []; window.exits = 0; window.events = []; window.attackSent = false; window.seen = [];
window.addEventListener('message', (e) => {
  const from = e.source === document.getElementById('lv').contentWindow ? 'link' : (e.source === document.getElementById('attacker').contentWindow ? 'attacker' : 'other');
  window.seen.push(from + '@' + e.origin + ':' + (e.data && e.data.type || e.data));
});
const opts = (tokens) => ({
  renderType: 'embedded', accessTokens: tokens, theme: 'dark', language: 'es',
  onIntegrationConnected: (p) => window.connected.push(p.accessToken.accountTokens[0].tokenId),
  onExit: () => { window.exits++; },
  onEvent: (e) => window.events.push(e.type),
});
createLink(opts([])).openLink(location.hash.slice(1), 'lv');
window.addEventListener('message', (e) => { if (e.data === 'attack-sent') window.attackSent = true; });
window.startAttack = (token) => {
  const f = document.getElementById('attacker');
  f.onload = () => f.contentWindow.postMessage({ token }, '*');
  f.src = '{{ATTACKER}}/attacker.html';
};
window.openWithToken = (token, linkToken) => {
  createLink(opts([{ accessToken: token, brokerType: 'coinbase', brokerName: '', accountId: '', accountName: '' }])).openLink(linkToken, 'lv');
};
</script>
</body></html>`

// attackerPage runs on another origin. Told the token, it forges messages to the Link
// frame (its sibling) and to the app page, then says so.
const attackerPage = `<!doctype html><html><body>attacker<script>
window.addEventListener('message', (e) => {
  const token = e.data && e.data.token;
  if (!token) return;
  const link = parent.frames[0];
  link.postMessage({ type: 'meshSDKSpecs', payload: { platform: 'web', version: '9', origin: 'http://evil' } }, '*');
  link.postMessage({ type: 'frontAccessTokens', payload: [{ accessToken: token, brokerType: 'coinbase', brokerName: '', accountId: '', accountName: '' }] }, '*');
  link.postMessage({ type: 'closeRequested' }, '*');
  parent.postMessage({ type: 'brokerageAccountAccessToken', payload: { accountTokens: [{ tokenId: 'forged', accessToken: 'forged', account: {} }], brokerType: 'coinbase' } }, '*');
  parent.postMessage({ type: 'close' }, '*');
  parent.postMessage('attack-sent', '*');
});
</script></body></html>`

// TestNativeWebViewBridgeAndRedirect: Link loaded top-level as a native shell would,
// with a React Native bridge and window.accessTokens injected before the page runs. The
// stored token lands in the account (no auth); messages arrive on the bridge as JSON
// strings. Then connecting another exchange uses a full-page redirect (no popups in a
// WebView) and the callback renders Link again at the success screen.
func TestNativeWebViewBridgeAndRedirect(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tokenID := e.connectHeadless("erin", linkvault.PermissionRead).AccountTokens[0].TokenID
	e.addInitScript(accessTokensScript(tokenID) + `
window.ReactNativeWebView = { postMessage: (m) => { const l = JSON.parse(sessionStorage.getItem('native') || '[]'); l.push(m); sessionStorage.setItem('native', JSON.stringify(l)); } };`)
	u := e.linkURL(linkvault.PermissionRead, "erin")
	e.run(chromedp.Navigate(u.String()), chromedp.WaitVisible(chromedp.CSS("#lv-positions")))
	native := func() []map[string]any {
		raw := value(e, chromedp.Evaluate[string](`sessionStorage.getItem('native') || '[]'`))
		var strs []string
		if err := json.Unmarshal([]byte(raw), &strs); err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, s := range strs {
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatalf("bridge message is not a JSON string: %q", s)
			}
			out = append(out, m)
		}
		return out
	}
	value(e, chromedp.Poll[bool](`(sessionStorage.getItem('native') || '').includes('brokerageAccountAccessToken')`, chromedp.WithPollingTimeout(10*time.Second)))
	msgs := native()
	if len(msgs) < 2 || msgs[0]["type"] != "loaded" || msgs[len(msgs)-1]["type"] != "brokerageAccountAccessToken" {
		t.Fatalf("bridge messages: %v", msgs)
	}
	for _, m := range msgs {
		if m["type"] == "integrationOAuthStarted" || m["type"] == "integrationSelected" {
			t.Fatalf("return user went through authentication: %v", msgs)
		}
	}

	// Another exchange: full-page redirect to the consent page and back.
	e.run(chromedp.Click(chromedp.CSS("#lv-another")), chromedp.Click(chromedp.CSS("[data-integration=sandbox]")),
		chromedp.Click(chromedp.CSS("#lv-continue")), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "erin-sb"), chromedp.SendKeys(chromedp.CSS("#password"), "pw"),
		chromedp.Click(chromedp.CSS("#authorize")), chromedp.WaitVisible(chromedp.CSS("[data-screen=success]")))
	e.shot("14-native-redirect-connected")
	if loc := value(e, chromedp.Location()); !strings.Contains(loc, "/link/oauth/callback") {
		t.Fatalf("after the redirect the page is %s", loc)
	}
	value(e, chromedp.Poll[bool](`JSON.parse(sessionStorage.getItem('native') || '[]').map((s) => JSON.parse(s))
		.some((m) => m.type === 'brokerageAccountAccessToken' && m.payload.brokerType === 'sandbox')`, chromedp.WithPollingTimeout(10*time.Second)))
	if cs, _ := e.st.DB.ListUserConnections(ctx, "app1", "erin"); len(cs) != 2 {
		t.Fatalf("erin has %d connections, want coinbase and sandbox", len(cs))
	}
}

// framingPage opens Link with the web SDK in an overlay and records the events.
const framingPage = `<!doctype html><html><head><meta charset="utf-8"><title>framing</title></head><body>
<script type="module">
const { createLink } = await import('{{LV}}/sdk/link.js');
window.events = [];
window.openLinkToken = (lt) => createLink({ onEvent: (e) => window.events.push(e.type) }).openLink(lt);
window.ready = true;
</script></body></html>`

// TestLinkFramedOnlyByAllowedOrigins (issue 15.5): a site that is not among the
// client's allowed origins cannot frame its Link page (CSP frame-ancestors; main
// allowed any site), while the allowed one can; the operator's "*" opens it to all.
func TestLinkFramedOnlyByAllowedOrigins(t *testing.T) {
	e := newEnv(t)
	other := serveOn(t, "localhost", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(strings.ReplaceAll(framingPage, "{{LV}}", e.st.URL)))
	}))
	open := func() {
		e.run(chromedp.Navigate(other + "/"))
		value(e, chromedp.Poll[bool](`window.ready === true`, chromedp.WithPollingTimeout(10*time.Second)))
		lt := e.st.LinkToken(t, "app1", linkvault.PermissionRead, "frank")
		value(e, chromedp.Evaluate[chromedp.Void](`window.openLinkToken(`+jsString(lt)+`)`))
	}
	open()
	// Absence can only be observed after a grace period; nothing below measures time.
	time.Sleep(2 * time.Second)
	if got := value(e, chromedp.Evaluate[[]string](`window.events`)); len(got) != 0 {
		t.Fatalf("a site that is not allowed framed Link: events %v", got)
	}
	e.shot("15-frame-refused")

	e.st.AllowOrigins(t, "app1", other)
	open()
	// (The frame is on another site, so its document is not queried from here.)
	value(e, chromedp.Poll[bool](`window.events.includes('pageLoaded')`, chromedp.WithPollingTimeout(15*time.Second)))
	e.shot("16-frame-allowed")
}
