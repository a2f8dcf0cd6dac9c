package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/linkvault/linkvault/internal/exchangesim"
)

// TestModalKeyboardOnly (issue 16.3): the web SDK's overlay used by keyboard alone. It
// is a labelled modal dialog; opening it moves focus into Link; Tab and Shift+Tab
// cycle inside Link and never reach the app's page behind it (main let Tab leave the
// frame); the page behind neither scrolls nor takes focus; Escape closes Link and puts
// focus back on the button that opened it; the close button does the same.
func TestModalKeyboardOnly(t *testing.T) {
	e := newEnv(t)
	e.signIn("kim")
	open := func() {
		e.run(chromedp.Focus(chromedp.CSS("#connect")), chromedp.KeyEvent(kb.Enter))
		e.waitInFrame(overlayFrame, "[data-screen=catalog]")
		value(e, chromedp.Poll[bool](`document.activeElement && document.activeElement.id === 'mesh-link-popup__iframe'`))
	}
	open()
	type dialog struct {
		Role, Modal, Label, Overflow string
		Inert                        bool
	}
	d := value(e, chromedp.Evaluate[dialog](`(() => { const o = document.querySelector('[data-linkvault=overlay]');
  return { role: o.getAttribute('role'), modal: o.getAttribute('aria-modal'), label: o.getAttribute('aria-label') || '',
    overflow: getComputedStyle(document.documentElement).overflow, inert: document.querySelector('main, header, #connect').closest('[inert]') !== null }; })()`))
	if d.Role != "dialog" || d.Modal != "true" || d.Label == "" {
		t.Fatalf("overlay is not a labelled modal dialog: %+v", d)
	}
	if d.Overflow != "hidden" || !d.Inert {
		t.Fatalf("the page behind still scrolls or takes focus: %+v", d)
	}
	e.shot("modal-01-open-focus")
	// On a phone the frame is a full-height sheet: the whole viewport, no rounded card.
	e.run(chromedp.EmulateViewport(375, 740))
	value(e, chromedp.Poll[bool](`(() => { const r = document.getElementById('mesh-link-popup__iframe').getBoundingClientRect();
  return r.width === window.innerWidth && r.height === window.innerHeight; })()`))
	e.shot("modal-03-phone-sheet")
	e.run(chromedp.EmulateViewport(1100, 760))
	// Tab through Link more times than it has controls, both ways: focus stays in it.
	for i := 0; i < 14; i++ {
		var opts []chromedp.KeyOption
		if i >= 7 {
			opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
		}
		e.run(chromedp.KeyEvent(kb.Tab, opts...))
		if id := value(e, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`)); id != "mesh-link-popup__iframe" {
			t.Fatalf("Tab %d left Link: focus on %q", i+1, id)
		}
		if i == 2 {
			e.shot("modal-02-focus-ring")
		}
	}
	// Escape closes and returns focus to the opener.
	e.run(chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.CSS("[data-linkvault=overlay]")))
	if id := value(e, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`)); id != "connect" {
		t.Fatalf("focus after Escape on %q, want the Connect button", id)
	}
	if o := value(e, chromedp.Evaluate[string](`getComputedStyle(document.documentElement).overflow + ' ' + (document.querySelector('[inert]') ? 'inert' : '')`)); strings.TrimSpace(o) != "visible" {
		t.Fatalf("page behind after closing: %q", o)
	}
	e.run(chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[@data-type="exit"]`)))

	// The close button (reached by keyboard) closes too, focus back on Connect.
	open()
	inFrame(e, overlayFrame, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.Focus(chromedp.CSS("#lv-close"), chromedp.FromNode(f))
	})
	e.run(chromedp.KeyEvent(kb.Enter), chromedp.WaitNotPresent(chromedp.CSS("[data-linkvault=overlay]")))
	if id := value(e, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`)); id != "connect" {
		t.Fatalf("focus after the close button on %q", id)
	}
}

// TestKeyboardFocusAfterServerError: a keyboard user presses a button that calls the
// server (the API-key form's Connect, the transfer form's Preview, the review's
// Confirm), which is disabled while the call runs; when the server refuses, focus must
// be back on that button (Enter tries again, Shift+Tab reaches the fields), not lost
// on the page's body, from where Tab starts over at the close button.
func TestKeyboardFocusAfterServerError(t *testing.T) {
	e := newEnv(t)
	press := func(id string) {
		t.Helper()
		inFrame(e, overlayFrame, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.Focus(chromedp.CSS("#"+id), chromedp.FromNode(f))
		})
		e.run(chromedp.KeyEvent(kb.Enter))
		e.waitInFrame(overlayFrame, "#lv-error")
		if got := e.focusInFrame(); got != id {
			e.shot("FAIL-focus-after-error-" + id)
			t.Errorf("after the server refused, focus is on %q, want the button pressed (%s)", got, id)
		}
	}
	e.openTransferForm("tess", "tess-cb", "")
	e.fillTransferForm(overlayFrame, "ETH", "", "0x326a8825472bb0f4719998e708a1eeeb4473ed1b", "0.5")
	e.st.Sim.Coinbase.SetFaults(exchangesim.Faults{ErrorRate: 1})
	press("lv-submit")
	e.st.Sim.Coinbase.SetFaults(exchangesim.Faults{})
	inFrame(e, overlayFrame, func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
		return chromedp.Focus(chromedp.CSS("#lv-submit"), chromedp.FromNode(f))
	})
	e.run(chromedp.KeyEvent(kb.Enter))
	e.waitInFrame(overlayFrame, "#lv-confirm")
	e.st.Sim.Coinbase.SetFaults(exchangesim.Faults{ErrorRate: 1})
	press("lv-confirm")
	e.st.Sim.Coinbase.SetFaults(exchangesim.Faults{})

	// Back to the account, Connect another, an API-key exchange with a made-up key.
	e.clickInFrame(overlayFrame, "#lv-back")
	e.waitInFrame(overlayFrame, "[data-screen=transfer]")
	e.clickInFrame(overlayFrame, "#lv-back")
	e.clickInFrame(overlayFrame, "#lv-another")
	e.clickInFrame(overlayFrame, "[data-integration=binanceInternationalDirect]")
	e.waitInFrame(overlayFrame, "[data-screen=apikey]")
	e.setInFrame(overlayFrame, "#lv-apikey", "not-a-key")
	e.setInFrame(overlayFrame, "#lv-apisecret", "not-a-secret")
	press("lv-submit")
}
