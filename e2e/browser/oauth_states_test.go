package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Honest OAuth states (issue 16.4): a sign-in window the user closes, Deny at the
// exchange, and an API-key form sent empty each get a screen that says what happened
// and what the user can do next.

// TestOAuthPopupClosed: the user closes the exchange's window without signing in. Link
// notices (main kept waiting forever), says so, and Try again opens a new window that
// connects.
func TestOAuthPopupClosed(t *testing.T) {
	e := newEnv(t)
	e.pickIntegration("paula", "", "coinbase")
	e.waitInFrame(overlayFrame, "[data-screen=oauth]")
	popup, _, cancel := e.openConsentPopup(overlayFrame, "#lv-continue")
	e.waitInFrame(overlayFrame, "[data-screen=waiting]")
	// The user closes the window (closing the tab, as its close button does).
	if err := chromedp.Cancel(popup); err != nil {
		t.Fatalf("close the popup: %v", err)
	}
	cancel()
	e.waitInFrame(overlayFrame, "#lv-popup-closed")
	if got := e.textInFrame(overlayFrame, "#lv-popup-closed"); !strings.Contains(got, "window was closed") {
		t.Fatalf("closed popup: %q", got)
	}
	e.shotBoth("oauth-01-popup-closed")
	e.axeInFrame(overlayFrame, "oauth-popup-closed")
	e.run(chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[@data-type="integrationConnectionError"]`)))
	e.consentInPopup(overlayFrame, "#lv-retry", "paula-cb", "pw", "")
	e.waitInFrame(overlayFrame, "[data-screen=success]")
}

// TestOAuthWaitSurvivesALostStatusAnswer: while the user signs in at the exchange, one
// answer to the page's status poll is lost (a proxy's 502; a 503 or a 429 does the
// same). Link keeps waiting and shows the connection once the user approves; main
// ended the wait on the error screen, and the connection made at the exchange never
// reached the app.
func TestOAuthWaitSurvivesALostStatusAnswer(t *testing.T) {
	e := newEnv(t)
	e.pickIntegration("rita", "", "coinbase")
	e.waitInFrame(overlayFrame, "[data-screen=oauth]")
	const status = "/link/api/oauth/status"
	e.calls.loseNextAnswer(status)
	popup, _, cancel := e.openConsentPopup(overlayFrame, "#lv-continue")
	defer cancel()
	e.waitInFrame(overlayFrame, "[data-screen=waiting]")
	// The page's first poll gets the 502 while the user is at the exchange; it must poll
	// again rather than give up.
	for e.calls.get(status) < 2 {
		if e.visibleInFrame("[data-screen=error]") {
			e.shot("FAIL-oauth-lost-status")
			t.Fatalf("one lost status answer ended the sign-in: %q", e.textInFrame(overlayFrame, "#lv-error"))
		}
		e.run(chromedp.Sleep(100 * time.Millisecond))
	}
	consentAt(&env{t: t, ctx: popup}, "rita-cb", false)
	e.waitInFrame(overlayFrame, "[data-screen=success]")
	e.run(chromedp.WaitVisible(chromedp.Search(`//ol[@id="events"]/li[contains(., "integrationConnected coinbase")]`)))
}

// TestOAuthDenyOffersPickAgain: Deny at the exchange (OAuth error=access_denied) is
// the user cancelling, not a failure (main said "Something went wrong"): the screen
// says so and offers that exchange again or another one.
func TestOAuthDenyOffersPickAgain(t *testing.T) {
	e := newEnv(t)
	e.pickIntegration("quinn", "", "coinbase")
	e.waitInFrame(overlayFrame, "[data-screen=oauth]")
	popup, _, cancel := e.openConsentPopup(overlayFrame, "#lv-continue")
	wctx, wcancel := context.WithTimeout(popup, stepTimeout)
	_ = chromedp.Do(wctx, chromedp.SendKeys(chromedp.CSS("#username"), "quinn-cb"), chromedp.Click(chromedp.CSS("#deny")),
		chromedp.WaitReady(chromedp.CSS("#lv-callback")))
	wcancel()
	cancel()
	e.waitInFrame(overlayFrame, "[data-screen=cancelled]")
	e.wantText(overlayFrame, "h1", "Connection cancelled", "title after Deny")
	if got := e.textInFrame(overlayFrame, "#lv-cancelled"); !strings.Contains(got, "did not allow access at Coinbase") {
		t.Errorf("text after Deny: %q", got)
	}
	e.shotBoth("oauth-02-denied")
	e.axeInFrame(overlayFrame, "oauth-cancelled")
	e.clickInFrame(overlayFrame, "#lv-pick")
	e.waitInFrame(overlayFrame, "[data-screen=catalog]")
}

// TestAPIKeyEmptyFields: the API-key form sent empty says which field is missing,
// next to it, and sends nothing (main called the server and answered "Wrong username
// or password"-style key errors).
func TestAPIKeyEmptyFields(t *testing.T) {
	e := newEnv(t)
	e.pickIntegration("rosa", "", "binanceInternationalDirect")
	e.waitInFrame(overlayFrame, "[data-screen=apikey]")
	e.clickInFrame(overlayFrame, "#lv-submit")
	e.waitInFrame(overlayFrame, "#lv-apikey-error")
	e.wantText(overlayFrame, "#lv-apikey-error", "Enter the API key.", "empty key")
	e.wantText(overlayFrame, "#lv-apisecret-error", "Enter the secret key.", "empty secret")
	e.typeInFrame(overlayFrame, "#lv-apikey", "some-key")
	e.clickInFrame(overlayFrame, "#lv-submit")
	if e.visibleInFrame("#lv-apikey-error") || !e.visibleInFrame("#lv-apisecret-error") {
		t.Error("after typing the key only the secret should be missing")
	}
	e.shotBoth("oauth-03-apikey-empty")
	if n := e.calls.get("/link/api/apikey"); n != 0 {
		t.Fatalf("%d API-key requests with empty fields", n)
	}
}
