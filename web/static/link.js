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

const closeButton = document.getElementById('lv-close');
if (closeButton && boot.renderType !== 'embedded' && hosted) {
  closeButton.hidden = false;
  closeButton.addEventListener('click', closePressed);
}
on('closeRequested', () => close());

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
