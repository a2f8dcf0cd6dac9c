package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFirstScreenNamesTheAppAndSearches (issue 16.5): the first screen names the app
// the user connects to (the client's name and logo, as `clients update` sets them) and
// what it will be able to do (this app's key writes: read and transfer), the header
// names the app, and the catalog has a search field.
func TestFirstScreenNamesTheAppAndSearches(t *testing.T) {
	e := newEnv(t)
	c, err := e.st.DB.GetClient(t.Context(), "app1")
	if err != nil {
		t.Fatal(err)
	}
	c.Name, c.Logo = "Demo Wallet", `data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA4IDgiPjxyZWN0IHdpZHRoPSI4IiBoZWlnaHQ9IjgiIGZpbGw9IiMxZjhhNGMiLz48L3N2Zz4=`
	if err := e.st.DB.UpdateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	e.signIn("yara")
	e.run(chromedp.Click(chromedp.CSS("#connect")))
	e.waitInFrame(overlayFrame, "[data-screen=catalog]")
	e.wantText(overlayFrame, "#lv-app-name", "Demo Wallet", "app name")
	e.wantText(overlayFrame, "#lv-app-title", "Demo Wallet", "header")
	if got := e.textInFrame(overlayFrame, "#lv-can"); !strings.Contains(got, "balances") || !strings.Contains(got, "transfers") {
		t.Errorf("capabilities %q", got)
	}
	e.typeInFrame(overlayFrame, "#lv-search", "up")
	if e.visibleInFrame("li[data-name=coinbase]") || !e.visibleInFrame("li[data-name=uphold]") {
		t.Error("search 'up' should leave Uphold alone")
	}
	e.shot("polish-01-search-desktop")
	e.typeInFrame(overlayFrame, "#lv-search", "zzz")
	e.waitInFrame(overlayFrame, "#lv-no-match")
	e.clickInFrame(overlayFrame, "#lv-close")
}
