// Entry point of the Link page (/link/{session}). The page renders every screen of a
// Link session from the boot data on <body data-boot>, calls the server's
// /link/api/* endpoints with the page secret, and speaks Mesh's Link protocol with
// the app: window.postMessage to the parent frame (origin-checked both ways) or the
// native SDK's bridge in a WebView. Screens live in lib/; docs/mobile.md describes
// the protocol as each SDK sees it.

import { h, show } from './lib/dom.js';
import { boot, t, byType } from './lib/state.js';
import { hosted, send, on, allowOrigins } from './lib/channel.js';
import { close, closePressed } from './lib/protocol.js';
import { waitForTokens, onLateTokens } from './lib/tokens.js';
import { home, handleOutcome } from './lib/connect.js';
import { returnUser } from './lib/portfolio.js';

// The header names the app the user connects to (its client name and logo, set with
// `linkvault clients update`); each screen's own title is its heading and the
// window's title (dom.js show).
const brand = document.querySelector('.brand');
if (brand && boot.app && boot.app.name) {
  const mark = boot.app.logo
    ? h('img', { class: 'brand-logo', src: boot.app.logo, alt: '' })
    : h('span', { class: 'brand-mark', 'aria-hidden': 'true' });
  brand.replaceChildren(mark, h('span', { id: 'lv-app-title', text: boot.app.name }));
}

const closeButton = document.getElementById('lv-close');
if (closeButton && boot.renderType !== 'embedded' && hosted) {
  closeButton.hidden = false;
  closeButton.addEventListener('click', closePressed);
}
on('closeRequested', () => close());

if (hosted && boot.renderType !== 'embedded') {
  // Link is a modal dialog: Tab stays inside it and Escape closes it (as the close
  // button does). The web SDK makes the app's page behind it inert.
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      closePressed();
      return;
    }
    if (e.key !== 'Tab') return;
    const items = /** @type {HTMLElement[]} */ (Array.from(document.querySelectorAll(
      'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])',
    ))).filter((el) => !el.closest('[hidden]') && el.getClientRects().length > 0);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    const inside = active instanceof HTMLElement && items.includes(active);
    if (e.shiftKey && (active === first || !inside)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !inside)) {
      e.preventDefault();
      first.focus();
    }
  });
}

allowOrigins(boot.allowedOrigins || []);
send({ type: 'loaded' });

if (boot.outcome) {
  // Back from a full-page OAuth redirect: the callback rendered the page at its result.
  const o = boot.outcome;
  handleOutcome(o, byType(o.brokerType), boot.reauthTokenId);
} else {
  show('loading', h('div', { class: 'spinner', role: 'progressbar', 'aria-label': t('loading') }));
  // Tokens that come after the wait are still used while the user has not moved on.
  onLateTokens((list) => {
    if (document.querySelector('[data-screen=catalog]')) returnUser(list);
  });
  waitForTokens().then((list) => {
    if (list.length) returnUser(list);
    else home();
  });
}
