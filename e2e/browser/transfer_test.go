package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestTransferScreens drives the Link page's transfer screens in Chromium, through the
// account service behind /link/api/transfer/*: the form, a refused preview (an address
// that is not an Ethereum address: a clear error on the form, nothing sent), the
// preview, Back (the form comes back as the user left it, with its asset list), the
// confirmation, and the app's transferFinished.
func TestTransferScreens(t *testing.T) {
	e := newEnv(t)
	e.signIn("tess")
	e.run(chromedp.Click(chromedp.CSS("#connect")))
	e.waitInFrame(overlayFrame, "[data-screen=catalog]")
	e.clickInFrame(overlayFrame, "[data-integration=coinbase]")
	e.waitInFrame(overlayFrame, "[data-screen=oauth]")
	e.consentInPopup(overlayFrame, "#lv-continue", "tess-cb", "s3cret", "transfer-00-consent")
	e.waitInFrame(overlayFrame, "[data-screen=success]")
	e.clickInFrame(overlayFrame, "#lv-done")
	e.run(chromedp.WaitNotPresent(chromedp.CSS("[data-linkvault=overlay]")), chromedp.WaitVisible(chromedp.CSS("[data-token-id]")))

	// Return visit: the account screen, then the transfer form.
	e.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-action=open]`)), chromedp.Click(chromedp.CSS(`[data-action=open]`)))
	e.waitInFrame(overlayFrame, "#lv-positions")
	e.clickInFrame(overlayFrame, "#lv-transfer")
	e.waitInFrame(overlayFrame, "[data-screen=transfer]")
	e.setInFrame(overlayFrame, "#lv-symbol", "ETH")
	e.setInFrame(overlayFrame, "#lv-network", "ethereum")
	e.typeInFrame(overlayFrame, "#lv-address", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
	e.typeInFrame(overlayFrame, "#lv-amount", "0.01")
	e.shot("transfer-01-form")

	// Failure: refused before anything is sent, shown on the form.
	e.clickInFrame(overlayFrame, "#lv-submit")
	e.waitInFrame(overlayFrame, "#lv-error")
	if msg := e.textInFrame(overlayFrame, "#lv-error"); !strings.Contains(msg, "not valid on the selected network") {
		t.Fatalf("error shown for a Bitcoin address on Ethereum: %q", msg)
	}
	e.shot("transfer-02-refused")
	if n := e.st.Sim.Coinbase.Stats().Transfers; n != 0 {
		t.Fatalf("a refused preview reached the exchange: %d transfers", n)
	}

	// Preview, then Back: the form as the user left it.
	e.setInFrame(overlayFrame, "#lv-address", "0x326a8825472bb0f4719998e708a1eeeb4473ed1b")
	e.clickInFrame(overlayFrame, "#lv-submit")
	e.waitInFrame(overlayFrame, "[data-screen=transfer-preview]")
	if got := e.textInFrame(overlayFrame, "#lv-pv-amount"); !strings.Contains(got, "ETH") {
		t.Fatalf("preview amount %q", got)
	}
	e.shot("transfer-03-preview")
	e.clickInFrame(overlayFrame, "#lv-back")
	e.waitInFrame(overlayFrame, "[data-screen=transfer]")
	var values []string
	for _, sel := range []string{"#lv-symbol", "#lv-network", "#lv-address", "#lv-amount"} {
		values = append(values, inFrame(e, overlayFrame, func(f *chromedp.Node) chromedp.Action[string] {
			return chromedp.Value(chromedp.CSS(sel), chromedp.FromNode(f))
		}))
	}
	values = append(values, e.textInFrame(overlayFrame, "#lv-symbol"))
	if len(values) != 5 || values[0] != "ETH" || values[1] != "ethereum" || values[2] != "0x326a8825472bb0f4719998e708a1eeeb4473ed1b" || values[3] != "0.01" || !strings.Contains(values[4], "BTC") {
		t.Fatalf("form after Back: %v", values)
	}
	e.shot("transfer-04-back")

	// Confirm: one transfer at the exchange, and the app hears transferFinished.
	e.clickInFrame(overlayFrame, "#lv-submit")
	e.waitInFrame(overlayFrame, "[data-screen=transfer-preview]")
	e.clickInFrame(overlayFrame, "#lv-confirm")
	e.waitInFrame(overlayFrame, "[data-screen=transfer-done]")
	e.shot("transfer-05-done")
	if n := e.st.Sim.Coinbase.Stats().Transfers; n != 1 {
		t.Fatalf("the exchange executed %d transfers, want 1", n)
	}
	e.run(chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[contains(., "transferFinished success 0.01 ETH")]`)))
}
