// Return users: the stored tokens the app passed in are checked by the server (only
// this session's own connections survive, silently), then the user lands on the
// account (or a list of accounts) with no authentication step; a connection the
// exchange revoked asks for that one sign-in again and keeps its tokenId.

import { h, button, show, currentScreen } from './dom.js';
import { boot, t, money, moneyIn, amountFmt, timeFmt, byType } from './state.js';
import { api } from './api.js';
import { Pages, atPage, done } from './protocol.js';
import { logo, home, catalog, selectIntegration, report, failure, asError } from './connect.js';
import { transfer } from './transfer.js';

/** @typedef {import('./types.js').Known} Known */

/** @type {Known[]} */
let known = [];

/**
 * Opens the stored connections refs, or the first screen of a new user when none of
 * them is usable.
 * @param {import('./types.js').TokenRef[]} refs
 */
export async function returnUser(refs) {
  if (!refs.length) {
    if (!known.length) home();
    return;
  }
  try {
    /** @type {{ connections?: Known[] }} */
    const res = await api('POST', '/link/api/tokens', { accessTokens: refs });
    const found = res.connections || [];
    if (!found.length) {
      if (!known.length) home();
      return;
    }
    known = found;
    const reauth = found.find((k) => k.status === 'reauthRequired');
    if (reauth) selectIntegration(integrationOf(reauth), reauth.tokenId, false);
    else if (found.length === 1) account(found[0]);
    else accounts();
  } catch (e) {
    if (known.length) return; // the user is on their accounts already
    const info = asError(e);
    // Tokens the server calls malformed are no connections: a new user's first screen.
    // Otherwise the server could not say (down, overloaded, the answer lost): showing
    // the catalog would tell a return user they have no connection, and connecting
    // again would replace the one the app stored. The error screen offers Try again
    // (not for an expired session).
    if (info.type === 'invalidRequest' || info.type === 'invalidJson') home();
    else {
      failure(null, info, '', () => {
        show('loading', h('div', { class: 'spinner', role: 'progressbar', 'aria-label': t('loading') }));
        returnUser(refs);
      });
    }
  }
}

/**
 * @param {Known} k
 * @returns {import('./types.js').Integration}
 */
export function integrationOf(k) {
  return byType(k.brokerType) || k.integration;
}

function accounts() {
  atPage(Pages.accounts);
  show('accounts',
    h('h1', { text: t('title') }),
    h('ul', { class: 'list' }, known.map((k) => {
      const integ = integrationOf(k);
      return h('li', null, h('button', { type: 'button', class: 'item', 'data-token': k.brokerType, onclick: () => account(k) },
        logo(integ), h('span', { class: 'name', text: integ.name }), h('span', { class: 'chevron', text: '›' })));
    })),
    h('div', { class: 'actions' }, button(t('connectAnother'), catalog, 'secondary', 'lv-another'),
      button(t('done'), done, '', 'lv-done')));
}

/**
 * How USD values are shown: converted to the page's currency with the exchange's rate
 * when the server found one (with its source and time), else in USD, as they are.
 * @param {import('./types.js').Holdings} holdings
 * @returns {{ format: (usd: number) => string, note: string }}
 */
function displayIn(holdings) {
  const d = holdings.display;
  if (boot.fiatCur === 'USD') return { format: (v) => money.format(v), note: '' };
  if (!d || d.currency !== boot.fiatCur || !(d.rate > 0)) {
    return { format: (v) => money.format(v), note: t('noRate', { currency: boot.fiatCur }) };
  }
  const f = moneyIn(d.currency);
  return {
    format: (v) => f.format(v * d.rate),
    note: t('rateNote', { rate: amountFmt.format(d.rate) + ' ' + d.currency, source: d.source, time: timeFmt.format(new Date(d.asOf)) }),
  };
}

/** tokenIds already reported to the app in this session. */
const reported = new Set();

/** @param {Known} k */
function reportOnce(k) {
  if (reported.has(k.tokenId) || !k.payload) return;
  reported.add(k.tokenId);
  report(k.payload);
}

/**
 * The account screen of a connection: total, holdings, transfer.
 * @param {Known} k
 * @param {import('./types.js').Holdings | null} [cached] holdings already fetched on this visit
 */
export async function account(k, cached) {
  const integ = integrationOf(k);
  atPage(Pages.account, { integration: integ, transfer: null });
  const total = ((k.payload && k.payload.accountTokens) || []).reduce((s, at) => s + (at.account.fund || 0), 0);
  const body = h('div', { id: 'lv-holdings' }, h('div', { class: 'spinner' }));
  const totalEl = h('strong', { id: 'lv-total', text: money.format(total) });
  const rateEl = h('p', { class: 'muted small', id: 'lv-rate', hidden: true });
  /** @type {import('./types.js').Holdings | null} */
  let holdings = cached || null;
  const canTransfer = boot.permission === 'write' && !!integ.supportsTransfers;
  const seq = show('account',
    h('div', { class: 'hero' }, logo(integ, true), h('h1', { text: t('accountTitle', { name: integ.name }) })),
    h('div', { class: 'summary' }, h('span', { class: 'muted', text: t('total') }), totalEl),
    rateEl,
    h('h2', { text: t('holdings') }),
    body,
    h('div', { class: 'actions' },
      canTransfer ? button(t('transfer'), () => transfer(k, holdings, null), '', 'lv-transfer') : null,
      button(t('connectAnother'), catalog, 'secondary', 'lv-another'),
      button(t('done'), done, 'link', 'lv-done')));
  try {
    if (!holdings) holdings = await api('POST', '/link/api/holdings', { tokenId: k.tokenId, fiatCurrency: boot.fiatCur });
  } catch (e) {
    const err = /** @type {{ type?: string }} */ (e);
    if (err.type === 'reauthenticationRequired') {
      k.status = 'reauthRequired';
      selectIntegration(integ, k.tokenId, false);
      return;
    }
    // The connection is fine; only the exchange is unreachable right now.
    reportOnce(k);
    if (seq === currentScreen()) body.replaceChildren(h('p', { class: 'muted', text: t('holdingsUnavailable') }));
    return;
  }
  reportOnce(k);
  if (seq !== currentScreen() || !holdings) return;
  const rows = holdings.cryptocurrencyPositions || [];
  const fx = displayIn(holdings);
  totalEl.textContent = fx.format(total);
  if (fx.note) {
    rateEl.textContent = fx.note;
    rateEl.hidden = false;
  }
  body.replaceChildren(rows.length
    ? h('table', { id: 'lv-positions' },
      h('thead', null, h('tr', null, h('th', { text: t('asset') }), h('th', { class: 'num', text: t('amount') }), h('th', { class: 'num', text: t('value') }))),
      h('tbody', null, rows.map((p) => h('tr', { 'data-symbol': p.symbol },
        h('td', { text: p.symbol }), h('td', { class: 'num', text: amountFmt.format(p.amount) }),
        h('td', { class: 'num', text: fx.format(p.marketValue || 0) })))))
    : h('p', { class: 'muted', text: t('noHoldings') }));
}
