// Connecting an exchange: the catalog, an API key the user creates at the exchange,
// account selection, and the success and error screens. OAuth sign-in is in oauth.js.

import { h, button, show, errorLine, showError, field, busy } from './dom.js';
import { boot, t, errorText, money, byType } from './state.js';
import { api, ApiError } from './api.js';
import { send } from './channel.js';
import { Pages, atPage, event, close, done } from './protocol.js';
import { oauthIntro } from './oauth.js';

/** @typedef {import('./types.js').Integration} Integration */
/** @typedef {import('./types.js').AccessTokenPayload} AccessTokenPayload */
/** @typedef {import('./types.js').ApiError} ErrorInfo */

/**
 * A small logo of an integration.
 * @param {{ logoUrl?: string }} integ
 * @param {boolean} [big]
 */
export function logo(integ, big) {
  return h('img', { class: big ? 'logo logo-lg' : 'logo', src: integ.logoUrl, alt: '' });
}

/** @param {() => void} fn */
export function backButton(fn) {
  return button(t('back'), fn, 'link', 'lv-back');
}

/** The first screen of a new user: the one preselected integration, or the catalog. */
export function home() {
  const only = boot.options && boot.options.brokerType ? byType(boot.options.brokerType) : null;
  if (only) selectIntegration(only, '', true);
  else catalog();
}

/** Catalogs longer than this get a search field. */
export const SEARCH_FROM = 4;

/**
 * The first screen of a new user: which app asks, what it will be able to do (from
 * the session's permission), and the exchanges to pick from (searchable when there
 * are more than a few).
 */
export function catalog() {
  atPage(Pages.catalog);
  const app = boot.app && boot.app.name ? boot.app : null;
  const list = h('ul', { class: 'list', id: 'lv-integrations' }, boot.integrations.map((integ) =>
    h('li', { 'data-name': integ.name.toLowerCase() }, h('button', {
      type: 'button', class: 'item', 'data-integration': integ.type,
      onclick: () => selectIntegration(integ, '', false),
    }, logo(integ), h('span', { class: 'name', text: integ.name }), h('span', { class: 'chevron', 'aria-hidden': 'true', text: '›' })))));
  const none = h('p', { class: 'muted', id: 'lv-no-match', hidden: true, text: t('noMatch') });
  const search = boot.integrations.length >= SEARCH_FROM
    ? h('div', { class: 'field' }, h('label', { for: 'lv-search', class: 'visually-hidden', text: t('searchLabel') }),
      h('input', { type: 'search', id: 'lv-search', placeholder: t('searchLabel'), autocomplete: 'off', oninput: (e) => {
        const q = /** @type {HTMLInputElement} */ (e.target).value.trim().toLowerCase();
        let shown = 0;
        for (const li of Array.from(list.children)) {
          const hit = !q || (li.getAttribute('data-name') || '').includes(q);
          /** @type {HTMLElement} */ (li).hidden = !hit;
          if (hit) shown++;
        }
        none.hidden = shown > 0;
      } }))
    : null;
  const can = boot.permission === 'write' ? ['canRead', 'canTransfer'] : ['canRead'];
  show('catalog',
    app ? h('div', { class: 'app-intro', id: 'lv-app-intro' },
      app.logo ? h('img', { class: 'logo', src: app.logo, alt: '' }) : null,
      h('p', null, h('strong', { id: 'lv-app-name', text: app.name }), ' ', t('appAsks')),
      h('ul', { class: 'can', id: 'lv-can' }, can.map((k) => h('li', { 'data-can': k, text: t(k) })))) : null,
    h('h1', { text: t('catalogTitle') }),
    h('p', { class: 'muted', text: t('catalogHint') }),
    search, list, none);
}

/**
 * Starts connecting integ; tokenId set re-authenticates that connection.
 * @param {Integration} integ
 * @param {string} tokenId
 * @param {boolean} preselected the app chose the integration (no way back to the catalog)
 */
export function selectIntegration(integ, tokenId, preselected) {
  event('integrationSelected', integ);
  if (integ.authKind === 'apiKey') apiKeyEntry(integ, tokenId, preselected);
  else oauthIntro(integ, tokenId, preselected);
}

/**
 * Shows how an authentication step ended.
 * @param {import('./types.js').Outcome | undefined} o
 * @param {Integration | null} integ the integration of the step, when the page knows it
 * @param {string} [tokenId] the connection being re-authenticated (Try again keeps it)
 */
export function handleOutcome(o, integ, tokenId) {
  if (!o || o.status !== 'connected' || !o.payload) {
    failure(integ || (o && byType(o.brokerType)) || null, { type: o && o.errorType, display: o && o.message }, tokenId || '');
    return;
  }
  connected(o.payload, !!o.reauthenticated);
}

// ---- API key ----

/**
 * The user creates an API key at the exchange, with the permissions this session needs
 * and no more, and pastes the key and its secret here.
 * @param {Integration} integ
 * @param {string} tokenId
 * @param {boolean} preselected
 */
function apiKeyEntry(integ, tokenId, preselected) {
  atPage(Pages.login, { integration: integ });
  const k = integ.apiKey || { manageUrl: '', readPermissions: [], writePermissions: [] };
  const write = boot.permission === 'write';
  const perms = (write ? k.writePermissions : k.readPermissions) || [];
  const ips = k.trustedIps || [];
  const steps = h('ol', { class: 'steps', id: 'lv-apikey-steps' },
    h('li', null, t('apiKeyStepCreate', { name: integ.name }), ' ',
      k.manageUrl ? h('a', { href: k.manageUrl, target: '_blank', rel: 'noopener noreferrer', id: 'lv-apikey-manage', text: t('apiKeyManage') }) : null),
    h('li', { text: t('apiKeyStepEnable', { permissions: perms.join(', ') }) }),
    k.forbiddenPermissions && k.forbiddenPermissions.length ? h('li', { text: t('apiKeyStepForbidden', { permissions: k.forbiddenPermissions.join(', ') }) }) : null,
    ips.length ? h('li', { text: t('apiKeyStepIps', { ips: ips.join(', ') }) }) : null);
  const err = errorLine();
  const key = /** @type {HTMLInputElement} */ (h('input', { type: 'text', name: 'apiKey', id: 'lv-apikey', autocomplete: 'off', spellcheck: 'false', required: true, autofocus: true }));
  const secret = /** @type {HTMLInputElement} */ (h('input', { type: 'password', name: 'apiSecret', id: 'lv-apisecret', autocomplete: 'off', required: true }));
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'button', id: 'lv-submit' }, t('connect')));
  const fKey = field(t('apiKey'), key);
  const fSecret = field(t('apiSecret'), secret);
  key.addEventListener('input', () => fKey.set(''));
  secret.addEventListener('input', () => fSecret.set(''));
  const form = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      // Nothing is sent until both fields hold something.
      fKey.set(key.value.trim() ? '' : t('v.apiKeyRequired'));
      fSecret.set(secret.value.trim() ? '' : t('v.apiSecretRequired'));
      if (!key.value.trim() || !secret.value.trim()) {
        (key.value.trim() ? secret : key).focus();
        return;
      }
      const idle = busy(submit);
      err.hidden = true;
      event('credentialsEntered', integ);
      try {
        /** @type {{ payload: AccessTokenPayload }} */
        const res = await api('POST', '/link/api/apikey', { brokerType: integ.type, apiKey: key.value.trim(), apiSecret: secret.value.trim(), tokenId: tokenId || '' });
        secret.value = '';
        connected(res.payload, !!tokenId);
      } catch (e2) {
        idle();
        const msg = errorText(asError(e2));
        event('integrationConnectionError', integ, { errorMessage: msg });
        showError(err, msg);
      }
    },
  },
  fKey.wrap,
  fSecret.wrap,
  err,
  h('div', { class: 'actions' }, submit, preselected || tokenId ? null : backButton(catalog)));
  show(tokenId ? 'reauth' : 'apikey',
    h('div', { class: 'hero' }, logo(integ, true),
      h('h1', { text: tokenId ? t('reauthTitle', { name: integ.name }) : t('apiKeyTitle', { name: integ.name }) }),
      h('p', { class: 'muted', text: tokenId ? t('apiKeyReauthHint', { name: integ.name }) : t('apiKeyHint', { name: integ.name }) })),
    steps, form);
}

// ---- connected ----

/**
 * An account was connected (or re-authenticated): report it to the app and show it.
 * @param {AccessTokenPayload} payload
 * @param {boolean} reauthenticated
 */
export function connected(payload, reauthenticated) {
  const integ = integrationOfPayload(payload);
  const tokens = payload.accountTokens || [];
  if (tokens.length > 1 && !reauthenticated) {
    selectAccounts(integ, payload);
    return;
  }
  report(payload);
  success(integ, payload, reauthenticated);
}

/**
 * @param {AccessTokenPayload} payload
 * @returns {Integration}
 */
function integrationOfPayload(payload) {
  return byType(payload.brokerType) || {
    type: payload.brokerType, name: payload.brokerName, authKind: 'oauth',
    logoUrl: payload.brokerBrandInfo.logoLightUrl || payload.brokerBrandInfo.brokerLogoUrl,
  };
}

/**
 * Tells the app about a connected account (Mesh's brokerageAccountAccessToken).
 * @param {AccessTokenPayload} payload
 */
export function report(payload) {
  send({ type: 'brokerageAccountAccessToken', payload });
}

/**
 * @param {Integration} integ
 * @param {AccessTokenPayload} payload
 */
function selectAccounts(integ, payload) {
  atPage(Pages.selectAccounts, { integration: integ });
  event('integrationAccountSelectionRequired', integ);
  const single = !!(boot.options && boot.options.restrictMultipleAccounts);
  /** @type {HTMLInputElement[]} */
  const inputs = [];
  show('select',
    h('h1', { text: single ? t('selectOneTitle') : t('selectTitle') }),
    h('ul', { class: 'list' }, payload.accountTokens.map((at, i) => {
      const input = /** @type {HTMLInputElement} */ (h('input', { type: single ? 'radio' : 'checkbox', name: 'account', value: String(i), checked: i === 0 || !single }));
      inputs.push(input);
      return h('li', null, h('label', { class: 'item checkrow' }, input,
        h('span', { class: 'name', text: at.account.accountName }),
        h('span', { class: 'meta', text: money.format(at.account.fund || 0) })));
    })),
    h('div', { class: 'actions' }, button(t('continue'), () => {
      const chosen = payload.accountTokens.filter((_, i) => inputs[i].checked);
      if (!chosen.length) return;
      const p = { ...payload, accountTokens: chosen };
      report(p);
      success(integ, p, false);
    }, '', 'lv-continue')));
}

/**
 * @param {Integration} integ
 * @param {AccessTokenPayload} payload
 * @param {boolean} reauthenticated
 */
function success(integ, payload, reauthenticated) {
  atPage(Pages.connected, { integration: integ });
  show('success',
    h('div', { class: 'hero' },
      h('div', { class: 'status-icon status-ok', 'aria-hidden': 'true' }),
      h('h1', { text: t('successTitle') }),
      h('p', { class: 'muted', text: t(reauthenticated ? 'reconnectedHint' : 'successHint', { name: integ.name }) })),
    h('ul', { class: 'list' }, (payload.accountTokens || []).map((at) =>
      h('li', { class: 'item' }, logo(integ), h('span', { class: 'name', text: at.account.accountName }),
        h('span', { class: 'meta', text: money.format(at.account.fund || 0) })))),
    h('div', { class: 'actions' }, button(t('done'), done, '', 'lv-done')));
}

/**
 * The error screen: try again (retry, else the same integration, else the catalog) or
 * close.
 * @param {Integration | null} integ
 * @param {ErrorInfo} err
 * @param {string} tokenId
 * @param {() => void} [retry]
 */
export function failure(integ, err, tokenId, retry) {
  if (err && err.type === 'accessDenied') {
    cancelled(integ, tokenId);
    return;
  }
  const msg = errorText(err);
  if (integ) event('integrationConnectionError', integ, { errorMessage: msg });
  atPage(Pages.error, { integration: integ });
  show('error',
    h('div', { class: 'hero' },
      h('div', { class: 'status-icon status-error', 'aria-hidden': 'true' }),
      h('h1', { text: t('errorTitle') }),
      h('p', { class: 'muted', id: 'lv-error', text: msg })),
    h('div', { class: 'actions' },
      err && err.type === 'linkTokenInvalid' ? null
        : button(t('tryAgain'), () => {
          if (retry) retry();
          else if (integ) selectIntegration(integ, tokenId, false);
          else catalog();
        }, '', 'lv-retry'),
      button(t('close'), () => close(msg), 'secondary', 'lv-exit')));
}

/**
 * The user pressed Deny at the exchange (OAuth error=access_denied): nothing is wrong,
 * they cancelled. They may try that exchange again or pick another.
 * @param {Integration | null} integ
 * @param {string} tokenId
 */
function cancelled(integ, tokenId) {
  const name = integ ? integ.name : '';
  const msg = t('cancelledHint', { name });
  if (integ) event('integrationConnectionError', integ, { errorMessage: msg });
  atPage(Pages.error, { integration: integ });
  const preselected = !!(boot.options && boot.options.brokerType);
  show('cancelled',
    h('div', { class: 'hero' },
      integ ? logo(integ, true) : null,
      h('h1', { text: t('cancelledTitle') }),
      h('p', { class: 'muted', id: 'lv-cancelled', text: msg })),
    h('div', { class: 'actions' },
      integ ? button(t('tryAgainWith', { name }), () => selectIntegration(integ, tokenId, preselected), '', 'lv-retry') : null,
      preselected || tokenId ? null : button(t('pickAnother'), catalog, 'secondary', 'lv-pick'),
      button(t('close'), () => close(msg), 'link', 'lv-exit')));
}

/**
 * The error information of a thrown value.
 * @param {unknown} err
 * @returns {ErrorInfo}
 */
export function asError(err) {
  if (err instanceof ApiError) return { type: err.type, display: err.display, message: err.message };
  return { message: err instanceof Error ? err.message : String(err) };
}
