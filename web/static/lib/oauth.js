// Signing in at an exchange by OAuth (Coinbase, Uphold, the sandbox).
//
// In a browser frame the exchange's consent page opens in a popup; the callback page
// there tells this page, which reads the outcome from the server.
//
// Everywhere else (a native SDK's WebView, Link opened top-level) this page navigates
// to the exchange itself, and the host decides where that runs (docs/mobile.md):
//   - in the same WebView or tab: the exchange redirects back to the callback, which
//     recognises the browser (its resume cookie) and renders Link again at the result;
//   - in the system browser, when the SDK hands the exchange's URL there (React Native
//     and Flutter for Coinbase, Flutter for Uphold, iOS for www.coinbase.com): the
//     navigation is cancelled, this page stays, and the callback in the browser
//     completes the connection server-side and asks the user to return to the app.
//     This page learns the outcome from /link/api/oauth/status, polled with a bounded
//     backoff and at once whenever the app comes back to the foreground, and reports
//     it exactly as any other connection (brokerageAccountAccessToken).

import { h, button, show, currentScreen } from './dom.js';
import { boot, t } from './state.js';
import { api, ApiError } from './api.js';
import { framed, bridge } from './channel.js';
import { Pages, atPage, event } from './protocol.js';
import { logo, backButton, catalog, failure, handleOutcome, asError } from './connect.js';

/** @typedef {import('./types.js').Integration} Integration */

/** First status poll after the page started waiting, and after each return to the foreground. */
export const POLL_FIRST_MS = 1000;
/** Longest pause between two status polls (the backoff multiplies by POLL_FACTOR up to it). */
export const POLL_MAX_MS = 5000;
const POLL_FACTOR = 1.5;

/**
 * The sign-in screen of an OAuth integration (tokenId set: re-authentication).
 * @param {Integration} integ
 * @param {string} tokenId
 * @param {boolean} preselected
 */
export function oauthIntro(integ, tokenId, preselected) {
  atPage(Pages.login, { integration: integ });
  show(tokenId ? 'reauth' : 'oauth',
    h('div', { class: 'hero' }, logo(integ, true),
      h('h1', { text: tokenId ? t('reauthTitle', { name: integ.name }) : t('oauthTitle', { name: integ.name }) }),
      h('p', { class: 'muted', text: tokenId ? t('reauthHint', { name: integ.name }) : t('oauthHint', { name: integ.name }) })),
    h('div', { class: 'actions' },
      button(tokenId ? t('reconnect') : t('oauthContinue', { name: integ.name }), () => startOAuth(integ, tokenId), '', 'lv-continue'),
      preselected || tokenId ? null : backButton(catalog)));
}

/** @type {Window | null} */
let popup = null;

/**
 * The flow this page waits for.
 * @typedef {object} Waiting
 * @property {Integration} integ
 * @property {string} tokenId
 * @property {number} seq the waiting screen's number (the user moving on ends the wait)
 * @property {number} delay the next pause between polls
 * @property {ReturnType<typeof setTimeout> | null} timer
 * @property {boolean} busy a poll is in flight
 */

/** @type {Waiting | null} */
let waiting = null;

function stopWaiting() {
  if (waiting && waiting.timer) clearTimeout(waiting.timer);
  waiting = null;
}

function closePopup() {
  if (!popup) return;
  try {
    popup.close();
  } catch {
    // already gone
  }
}

// The OAuth callback page in the popup tells its opener (same origin) when it is done.
window.addEventListener('message', (e) => {
  if (popup && e.source === popup && e.origin === window.location.origin && e.data && e.data.type === 'lv:oauthFinished') pollNow();
});

// Back in the foreground (the user returns from the system browser, or from the popup):
// look at once, and start the backoff over.
function onForeground() {
  if (!waiting || document.visibilityState === 'hidden') return;
  waiting.delay = POLL_FIRST_MS;
  pollNow();
}
document.addEventListener('visibilitychange', onForeground);
window.addEventListener('pageshow', onForeground);
window.addEventListener('focus', onForeground);

/**
 * @param {Integration} integ
 * @param {string} tokenId
 */
async function startOAuth(integ, tokenId) {
  const mode = framed && !bridge ? 'popup' : 'redirect';
  if (mode === 'popup') {
    popup = window.open('', 'lv-oauth', 'popup=yes,width=520,height=720');
    if (!popup) {
      popupBlocked(integ, tokenId);
      return;
    }
    try {
      popup.document.title = integ.name;
    } catch {
      // cross-origin already
    }
  }
  event('integrationOAuthStarted', integ);
  const view = { lng: boot.lang, fiatCur: boot.fiatCur, th: boot.theme, rt: boot.renderType };
  try {
    /** @type {{ authUrl: string }} */
    const res = await api('POST', '/link/api/oauth/start', { brokerType: integ.type, tokenId: tokenId || '', mode, view },
      // Redirect mode: keep the resume cookie the answer sets (only the callback reads it).
      mode === 'redirect' ? 'same-origin' : 'omit');
    if (mode === 'redirect') {
      away(integ, tokenId, res.authUrl);
      return;
    }
    if (popup) popup.location.href = res.authUrl;
    waitInPopup(integ, tokenId);
  } catch (err) {
    closePopup();
    failure(integ, asError(err), tokenId);
  }
}

/**
 * @param {Integration} integ
 * @param {string} tokenId
 */
function popupBlocked(integ, tokenId) {
  show('popup-blocked',
    h('div', { class: 'hero' }, logo(integ, true),
      h('h1', { text: t('popupBlocked') }),
      h('p', { class: 'muted', text: t('popupBlockedHint') })),
    h('div', { class: 'actions' },
      button(t('oauthContinue', { name: integ.name }), () => startOAuth(integ, tokenId), '', 'lv-continue'),
      backButton(catalog)));
}

/**
 * @param {Integration} integ
 * @param {string} tokenId
 */
function waitInPopup(integ, tokenId) {
  watchPopup(integ, tokenId);
  showWaiting(integ, tokenId, 'waiting',
    t('oauthWaiting', { name: integ.name }), t('oauthWaitingHint', { name: integ.name }), t('oauthReopen'), () => {
      if (popup && !popup.closed) popup.focus();
      else startOAuth(integ, tokenId);
    });
}

/**
 * Shows a screen that waits, with a spinner, while the user signs in at the exchange
 * (in the popup, or wherever the host took the navigation), and polls for the outcome.
 * Cancel ends the wait, closes the popup (there is none in redirect mode) and goes back
 * to the catalog.
 * @param {Integration} integ
 * @param {string} tokenId
 * @param {string} name the screen's name
 * @param {string} title
 * @param {string} hint
 * @param {string} againLabel the label of the button that opens the exchange again
 * @param {() => void} again
 */
function showWaiting(integ, tokenId, name, title, hint, againLabel, again) {
  const seq = show(name,
    h('div', { class: 'hero' }, logo(integ, true),
      h('h1', { text: title }),
      h('p', { class: 'muted', text: hint }),
      h('div', { class: 'spinner' })),
    h('div', { class: 'actions' },
      button(againLabel, again, 'secondary', 'lv-reopen'),
      button(t('cancel'), () => {
        stopWaiting();
        closePopup();
        catalog();
      }, 'link', 'lv-cancel')));
  waitFor(integ, tokenId, seq);
}

/** How often the page looks whether the user closed the sign-in popup. */
export const POPUP_CHECK_MS = 250;

/**
 * Watches the popup: once it is closed, the page asks the server at once (the callback
 * closes the popup itself when it is done); still nothing there means the user closed
 * it, and the page says so with Try again, while it keeps listening should the
 * exchange still finish.
 * @param {Integration} integ
 * @param {string} tokenId
 */
function watchPopup(integ, tokenId) {
  const watched = popup;
  const timer = setInterval(async () => {
    if (popup !== watched || !waiting) {
      clearInterval(timer);
      return;
    }
    if (!watched || !watched.closed) return;
    clearInterval(timer);
    const w = waiting;
    try {
      /** @type {{ status: string, outcome?: import('./types.js').Outcome }} */
      const res = await api('GET', '/link/api/oauth/status');
      if (w !== waiting || w.seq !== currentScreen()) return;
      if (res.status === 'connected' || res.status === 'failed') {
        stopWaiting();
        handleOutcome(res.outcome, integ, tokenId);
        return;
      }
    } catch {
      // The status poll keeps trying.
    }
    if (w !== waiting || w.seq !== currentScreen()) return;
    popupClosed(integ, tokenId, w);
  }, POPUP_CHECK_MS);
}

/**
 * The user closed the sign-in window before finishing.
 * @param {Integration} integ
 * @param {string} tokenId
 * @param {Waiting} w the wait, kept going on the new screen
 */
function popupClosed(integ, tokenId, w) {
  event('integrationConnectionError', integ, { errorMessage: t('popupClosed', { name: integ.name }) });
  w.seq = show('popup-closed',
    h('div', { class: 'hero' }, logo(integ, true),
      h('h1', { text: t('popupClosedTitle') }),
      h('p', { class: 'muted', id: 'lv-popup-closed', text: t('popupClosed', { name: integ.name }) })),
    h('div', { class: 'actions' },
      button(t('tryAgain'), () => startOAuth(integ, tokenId), '', 'lv-retry'),
      tokenId ? null : backButton(() => {
        stopWaiting();
        catalog();
      })));
}

let launches = 0;

/**
 * Navigates this page to the exchange; the host keeps the navigation or sends it to
 * the system browser.
 * @param {string} url
 */
function openExchange(url) {
  // Flutter's SDK ignores an external launch while it thinks the previous one is still
  // open, until the WebView's URL changes on the Link host (mesh_link_controller.dart,
  // _isExternalAppOpened, reset in onUrlChange). A new fragment is such a change, so a
  // second sign-in (Try again, Open again) in the same page is not dropped.
  if (bridge) {
    launches++;
    history.replaceState(history.state, '', '#lv-oauth-' + launches);
  }
  window.location.assign(url);
}

/**
 * The page navigates to the exchange and, should it stay (the host sent the exchange
 * to the system browser), waits for the outcome.
 * @param {Integration} integ
 * @param {string} tokenId
 * @param {string} authUrl
 */
function away(integ, tokenId, authUrl) {
  showWaiting(integ, tokenId, 'oauth-away',
    t('oauthAway', { name: integ.name }), t('oauthAwayHint', { name: integ.name }), t('oauthOpenAgain', { name: integ.name }),
    () => openExchange(authUrl));
  openExchange(authUrl);
}

/**
 * Starts polling for the outcome of the flow shown on screen seq.
 * @param {Integration} integ
 * @param {string} tokenId
 * @param {number} seq
 */
function waitFor(integ, tokenId, seq) {
  stopWaiting();
  waiting = { integ, tokenId, seq, delay: POLL_FIRST_MS, timer: null, busy: false };
  schedule(waiting, POLL_FIRST_MS);
}

/**
 * @param {Waiting} w
 * @param {number} ms
 */
function schedule(w, ms) {
  if (w.timer) clearTimeout(w.timer);
  w.timer = setTimeout(pollNow, ms);
}

async function pollNow() {
  const w = waiting;
  if (!w || w.busy) return;
  if (w.seq !== currentScreen()) {
    stopWaiting(); // the user moved on
    return;
  }
  if (w.timer) clearTimeout(w.timer);
  w.timer = null;
  w.busy = true;
  try {
    /** @type {{ status: string, outcome?: import('./types.js').Outcome }} */
    const res = await api('GET', '/link/api/oauth/status');
    w.busy = false;
    if (w !== waiting || w.seq !== currentScreen()) return;
    if (res.status === 'connected' || res.status === 'failed') {
      stopWaiting();
      closePopup();
      handleOutcome(res.outcome, w.integ, w.tokenId);
      return;
    }
  } catch (err) {
    w.busy = false;
    if (w !== waiting) return;
    if (err instanceof ApiError && err.type === 'linkTokenInvalid') {
      // The session expired or is gone; waiting longer cannot help.
      stopWaiting();
      closePopup();
      failure(w.integ, asError(err), w.tokenId);
      return;
    }
    // No answer (the app is coming back from the background, the network is down) or a
    // passing one (a proxy's 502, 503 serviceUnavailable, 429 rateLimited): the user
    // may be approving at the exchange right now; keep waiting.
  }
  w.delay = Math.min(w.delay * POLL_FACTOR, POLL_MAX_MS);
  schedule(w, w.delay);
}
