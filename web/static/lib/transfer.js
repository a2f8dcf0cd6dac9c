// Transfers from a connected account (write permission): the form, the exchange's
// quote (preview), the verification code the exchange may ask for, and the result.
//
// The form offers only what the account can send: its assets (from the account
// service's configure, as the REST API's) and, for each, the networks it can leave on,
// defaulting to the first that is open. Address format, amount, balance (with the fee
// where the exchange publishes it), the exchange's minimum and maximum are checked
// before any preview is asked for, with the reason next to the field. Confirm works
// only on a fresh quote; Back returns to the form as the user left it. The app hears
// Mesh's transfer events: transferFinished only for a transfer the exchange took,
// failures as transferPreviewError / transferExecutionError.

import { h, button, show, errorLine, showError, field, busy } from './dom.js';
import { t, errorText, amountFmt } from './state.js';
import { api } from './api.js';
import { send } from './channel.js';
import { Pages, atPage, event, done } from './protocol.js';
import { backButton, asError, selectIntegration } from './connect.js';
import { account, integrationOf } from './portfolio.js';

/** @typedef {import('./types.js').Known} Known */
/** @typedef {import('./types.js').Holdings} Holdings */
/** @typedef {import('./types.js').TransferAsset} TransferAsset */
/** @typedef {import('./types.js').TransferAssetNetwork} TransferAssetNetwork */

/**
 * What the user entered in the form.
 * @typedef {object} TransferInput
 * @property {string} symbol
 * @property {string} network the network's code
 * @property {string} toAddress
 * @property {string} [addressTag] the memo/tag the network needs (XRP, XLM)
 * @property {string} amount as typed
 */

/**
 * The account's transfer options, fetched once per visit of the account screen.
 * @type {WeakMap<Known, TransferAsset[]>}
 */
const optionsCache = new WeakMap();

/**
 * Parses an amount as typed (a dot or a comma as the decimal separator).
 * @param {string} s
 * @returns {number | null} null when it is not a plain decimal number
 */
export function parseAmount(s) {
  const v = s.trim().replace(',', '.');
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v)) return null;
  return Number(v);
}

/**
 * Why an amount cannot be sent on a network, or '' when it can.
 * @param {string} typed
 * @param {TransferAsset} asset
 * @param {TransferAssetNetwork} net
 * @returns {string}
 */
export function amountProblem(typed, asset, net) {
  if (!typed.trim()) return t('v.amountRequired');
  const n = parseAmount(typed);
  if (n === null) return t('v.amountFormat');
  if (n <= 0) return t('v.amountPositive');
  const fee = net.feeKnown ? (net.fee || 0) : 0;
  const max = Math.max(asset.available - fee, 0);
  if (n > max + 1e-12) {
    const maxText = amountFmt.format(max) + ' ' + asset.symbol;
    return fee > 0
      ? t('v.amountOverBalanceFee', { max: maxText, fee: amountFmt.format(fee) + ' ' + asset.symbol })
      : t('v.amountOverBalance', { max: maxText });
  }
  if (net.minimum && n < net.minimum) return t('v.amountBelowMin', { network: net.name, min: amountFmt.format(net.minimum) + ' ' + asset.symbol });
  if (net.maximum && n > net.maximum) return t('v.amountAboveMax', { network: net.name, max: amountFmt.format(net.maximum) + ' ' + asset.symbol });
  return '';
}

/**
 * Why an address cannot receive on a network, or '' when it can.
 * @param {string} addr
 * @param {TransferAssetNetwork} net
 * @returns {string}
 */
export function addressProblem(addr, net) {
  const a = addr.trim();
  if (!a) return t('v.addressRequired');
  if (net.addressPattern) {
    let ok = true;
    try {
      ok = new RegExp(net.addressPattern).test(a);
    } catch {
      ok = true; // a pattern this browser cannot compile: the server checks it
    }
    if (!ok) return t('v.addressFormat', { network: net.name });
  }
  return '';
}

/**
 * A form left empty: Try again after the options failed opens the form as new without
 * a second transferStarted.
 * @type {TransferInput}
 */
const emptyInput = { symbol: '', network: '', toAddress: '', amount: '' };

/**
 * Opens the transfer form: loads the account's options first (once per visit).
 * values, when set, fills it in (coming back from the preview).
 * @param {Known} k
 * @param {Holdings | null} holdings
 * @param {TransferInput | null} values
 */
export async function transfer(k, holdings, values) {
  const integ = integrationOf(k);
  atPage(Pages.transferForm, { integration: integ, transfer: null });
  if (!values) event('transferStarted', integ);
  let assets = optionsCache.get(k);
  if (!assets) {
    show('transfer-loading', h('h1', { text: t('transferTitle', { name: integ.name }) }),
      h('div', { class: 'spinner', role: 'progressbar', 'aria-label': t('loading') }));
    try {
      /** @type {{ assets: TransferAsset[] }} */
      const res = await api('POST', '/link/api/transfer/options', { tokenId: k.tokenId });
      assets = res.assets || [];
      optionsCache.set(k, assets);
    } catch (e) {
      const info = asError(e);
      if (info.type === 'reauthenticationRequired') {
        k.status = 'reauthRequired';
        selectIntegration(integ, k.tokenId, false);
        return;
      }
      const msg = info.type === 'scopeMismatch' ? t('transferNotAllowed') : errorText(info);
      event('transferConfigureError', null, { errorMessage: msg });
      const err = errorLine();
      // Try again where it can help: not for a connection that may not transfer, nor
      // for a session that is over.
      const final = info.type === 'scopeMismatch' || info.type === 'linkTokenInvalid';
      show('transfer-unavailable', h('h1', { text: t('transferTitle', { name: integ.name }) }), err,
        h('div', { class: 'actions' },
          final ? null : button(t('tryAgain'), () => transfer(k, holdings, values || emptyInput), '', 'lv-retry'),
          backButton(() => account(k, holdings))));
      showError(err, msg);
      return;
    }
  }
  const sendable = assets.filter((a) => a.available > 0 && a.networks.some((n) => n.eligible));
  if (!sendable.length) {
    event('transferNoEligibleAssets', null, {
      integrationType: integ.type, integrationName: integ.name,
      arrayOfTokensHeld: assets.map((a) => ({ symbol: a.symbol, amount: a.available })),
    });
    show('transfer-empty', h('h1', { text: t('transferTitle', { name: integ.name }) }),
      h('p', { class: 'muted', id: 'lv-no-assets', text: t('noEligibleAssets') }),
      h('div', { class: 'actions' }, backButton(() => account(k, holdings))));
    return;
  }
  form(k, holdings, sendable, values);
}

/**
 * The form itself.
 * @param {Known} k
 * @param {Holdings | null} holdings
 * @param {TransferAsset[]} assets what the account can send (at least one)
 * @param {TransferInput | null} values
 */
function form(k, holdings, assets, values) {
  const integ = integrationOf(k);
  const err = errorLine();
  const symbol = /** @type {HTMLSelectElement} */ (h('select', { id: 'lv-symbol', name: 'symbol' },
    assets.map((a) => h('option', { value: a.symbol, text: a.symbol + ' · ' + t('availableShort', { amount: amountFmt.format(a.available) }) }))));
  const network = /** @type {HTMLSelectElement} */ (h('select', { id: 'lv-network', name: 'network' }));
  const address = /** @type {HTMLInputElement} */ (h('input', { type: 'text', id: 'lv-address', name: 'address', required: true,
    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', autofocus: true }));
  const tag = /** @type {HTMLInputElement} */ (h('input', { type: 'text', id: 'lv-tag', name: 'addressTag', autocomplete: 'off', spellcheck: 'false' }));
  const amount = /** @type {HTMLInputElement} */ (h('input', { type: 'text', id: 'lv-amount', name: 'amount', inputmode: 'decimal', required: true, autocomplete: 'off' }));
  const available = h('p', { class: 'field-hint', id: 'lv-available' });
  const fAsset = field(t('symbol'), symbol);
  const fNetwork = field(t('network'), network);
  const fAddress = field(t('toAddress'), address);
  const fTag = field(t('addressTag'), tag, h('p', { class: 'field-hint', id: 'lv-tag-hint', text: t('addressTagHint') }));
  const fAmount = field(t('amount'), amount, available);
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'button', id: 'lv-submit' }, t('preview')));

  /** @returns {TransferAsset} */
  const asset = () => assets.find((a) => a.symbol === symbol.value) || assets[0];
  /** @returns {TransferAssetNetwork | undefined} */
  const net = () => asset().networks.find((n) => n.code === network.value);

  /**
   * Fills the network list of the selected asset, keeping the choice when it fits.
   * @param {string} keep
   */
  function fillNetworks(keep) {
    const a = asset();
    network.replaceChildren(...a.networks.map((n) => h('option', {
      value: n.code, disabled: !n.eligible,
      text: n.eligible ? n.name : n.name + ' · ' + t('reason.' + (n.reason || 'refusedByInstitution')),
    })));
    const fit = a.networks.find((n) => n.code === keep && n.eligible) || a.networks.find((n) => n.eligible);
    if (fit) network.value = fit.code;
    const n = net();
    fTag.wrap.hidden = !(n && n.tagRequired);
    const fee = n && n.feeKnown && n.fee ? ' · ' + t('feeShort', { fee: amountFmt.format(n.fee) + ' ' + a.symbol }) : '';
    available.textContent = t('availableHint', { amount: amountFmt.format(a.available) + ' ' + a.symbol }) + fee;
  }

  /** @param {boolean} all check empty fields too (on submit) */
  function check(all) {
    const n = net();
    let first = /** @type {HTMLElement | null} */ (null);
    if (!n) {
      fNetwork.set(t('v.networkUnavailable', { symbol: symbol.value }));
      first = network;
    } else {
      fNetwork.set('');
      if (all || address.value) {
        const p = addressProblem(address.value, n);
        fAddress.set(p);
        if (p && !first) first = address;
      }
      if (n.tagRequired && (all || tag.value)) {
        const p = tag.value.trim() ? '' : t('v.tagRequired', { network: n.name });
        fTag.set(p);
        if (p && !first) first = tag;
      }
      if (all || amount.value) {
        const p = amountProblem(amount.value, asset(), n);
        fAmount.set(p);
        if (p && !first) first = amount;
      }
    }
    return first;
  }

  if (values && assets.some((a) => a.symbol === values.symbol)) symbol.value = values.symbol;
  fillNetworks(values ? values.network : '');
  if (values) {
    tag.value = values.addressTag || '';
    address.value = values.toAddress;
    amount.value = values.amount;
  }
  symbol.addEventListener('change', () => {
    fillNetworks(network.value);
    event('transferAssetSelected', null, { symbol: symbol.value });
    check(false);
  });
  network.addEventListener('change', () => {
    fillNetworks(network.value);
    const n = net();
    event('transferNetworkSelected', null, { id: n ? n.id : network.value, name: n ? n.name : network.value });
    check(false);
  });
  address.addEventListener('input', () => fAddress.set(''));
  tag.addEventListener('input', () => fTag.set(''));
  address.addEventListener('blur', () => { if (address.value) check(false); });
  amount.addEventListener('input', () => fAmount.set(''));
  amount.addEventListener('change', () => { event('transferAmountEntered'); check(false); });

  show('transfer',
    h('h1', { text: t('transferTitle', { name: integ.name }) }),
    h('form', {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        err.hidden = true;
        const bad = check(true);
        if (bad) {
          bad.focus();
          return;
        }
        const n = /** @type {TransferAssetNetwork} */ (net());
        const idle = busy(submit);
        /** @type {TransferInput} */
        const input = { symbol: symbol.value, network: n.code, toAddress: address.value.trim(), addressTag: n.tagRequired ? tag.value.trim() : '', amount: amount.value.trim() };
        requestPreview(k, holdings, input, err, idle);
      },
    },
    fAsset.wrap, fNetwork.wrap, fAddress.wrap, fTag.wrap, fAmount.wrap, err,
    h('div', { class: 'actions' }, submit, backButton(() => account(k, holdings)))));
}

/**
 * Asks the server for a quote of input and shows it; on failure, says why in err and
 * calls failed.
 * @param {Known} k
 * @param {Holdings | null} holdings
 * @param {TransferInput} input
 * @param {HTMLElement} err
 * @param {() => void} failed
 */
async function requestPreview(k, holdings, input, err, failed) {
  const integ = integrationOf(k);
  const req = { tokenId: k.tokenId, symbol: input.symbol, network: input.network, toAddress: input.toAddress, addressTag: input.addressTag || '', amount: parseAmount(input.amount) };
  try {
    /** @type {import('./types.js').TransferPreview} */
    const pv = await api('POST', '/link/api/transfer/preview', req);
    event('transferPreviewed', integ, {
      previewId: pv.previewId, symbol: pv.symbol, amount: pv.amount, toAddress: pv.toAddress,
      networkId: pv.networkId, networkName: pv.networkName,
      estimatedNetworkGasFee: pv.feeKnown ? { fee: pv.estimatedNetworkGasFee, feeCurrency: pv.feeCurrency || pv.symbol } : undefined,
    });
    preview(k, holdings, input, pv);
  } catch (e2) {
    const info = asError(e2);
    failed();
    const msg = info.type === 'scopeMismatch' ? t('transferNotAllowed') : errorText(info);
    event('transferPreviewError', null, { errorMessage: msg });
    if (info.type === 'reauthenticationRequired') {
      k.status = 'reauthRequired';
      selectIntegration(integ, k.tokenId, false);
      return;
    }
    showError(err, msg);
  }
}

/**
 * One line of the confirmation.
 * @param {string} label
 * @param {string} id
 * @param {string | Node} value
 * @param {boolean} [strong]
 */
function row(label, id, value, strong) {
  return h('div', { class: 'kv' }, h('dt', { text: label }), h('dd', { id, class: strong ? 'strong' : '' }, value));
}

/**
 * The quote, with Confirm (while the quote is fresh) and Back (to the form as it was).
 * @param {Known} k
 * @param {Holdings | null} holdings
 * @param {TransferInput} input
 * @param {import('./types.js').TransferPreview} pv
 */
function preview(k, holdings, input, pv) {
  const integ = integrationOf(k);
  atPage(Pages.transferPreview, { integration: integ, transfer: { previewId: pv.previewId, symbol: pv.symbol, amount: pv.amount, networkId: pv.networkId } });
  const err = errorLine();
  const fmt = (/** @type {number} */ v, /** @type {string} */ cur) => amountFmt.format(v) + ' ' + cur;
  const feeCur = pv.feeCurrency || pv.symbol;
  const fee = pv.feeKnown ? fmt(pv.estimatedNetworkGasFee, feeCur) : t('feeByExchange', { name: integ.name });
  const total = pv.feeKnown
    ? (feeCur === pv.symbol ? fmt(pv.totalAmount, pv.symbol) : fmt(pv.amount, pv.symbol) + ' + ' + fmt(pv.estimatedNetworkGasFee, feeCur))
    : t('totalPlusFee', { amount: fmt(pv.amount, pv.symbol) });
  const copied = h('span', { class: 'copied', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'button link copy', id: 'lv-copy', onclick: async () => {
    try {
      await navigator.clipboard.writeText(pv.toAddress);
      copied.textContent = t('copied');
    } catch {
      // No clipboard permission: select the address so the user can copy it.
      const sel = window.getSelection();
      const el = document.getElementById('lv-pv-address-text');
      if (sel && el) sel.selectAllChildren(el);
    }
  } }, t('copyAddress'));
  const code = /** @type {HTMLInputElement} */ (h('input', { type: 'text', id: 'lv-mfa', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code' }));
  const fCode = field(t('transferCode'), code, h('p', { class: 'field-hint', id: 'lv-mfa-hint', text: t('transferCodeHint', { name: integ.name }) }));
  fCode.wrap.hidden = true;
  let needsCode = false;
  // Confirm was pressed and its answer never came (the connection dropped, a proxy
  // answered) or said the transfer is still being executed: the exchange may have
  // sent it. Only this preview can tell (the server answers what it became, even
  // after the quote's time is up; a fresh quote would be a second transfer), so
  // Confirm stays until the server says the quote expired unsent.
  let unsure = false;
  const expiresAt = Date.now() + Math.max(pv.expiresInSeconds || 0, 0) * 1000;
  const again = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'button', id: 'lv-repreview', hidden: true, onclick: () => {
    const idle = busy(again);
    err.hidden = true;
    requestPreview(k, holdings, input, err, idle);
  } }, t('previewAgain')));
  const confirm = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'button', id: 'lv-confirm', onclick: async () => {
    if (stale()) return;
    if (needsCode && !code.value.trim()) {
      fCode.set(t('v.codeRequired'));
      code.focus();
      return;
    }
    const idle = busy(confirm);
    err.hidden = true;
    /** @type {Record<string, string>} */
    const body = { tokenId: k.tokenId, previewId: pv.previewId };
    if (needsCode) {
      body.mfaCode = code.value.trim();
      event('transferMfaEntered');
    }
    try {
      /** @type {import('./types.js').TransferResult} */
      const res = await api('POST', '/link/api/transfer/execute', body);
      if (res.status === 'mfaRequired' || res.status === 'mfaFailed') {
        // Nothing moved: the exchange wants a (correct) code.
        idle();
        if (!needsCode) event('transferMfaRequired');
        needsCode = true;
        fCode.wrap.hidden = false;
        if (res.status === 'mfaFailed') {
          fCode.set(t('v.codeWrong'));
          event('transferExecutionError', null, { errorMessage: t('v.codeWrong') });
        }
        code.value = '';
        code.focus();
        return;
      }
      if (res.status === 'failed') {
        const msg = t('transferFailed', { name: integ.name });
        event('transferExecutionError', null, { errorMessage: msg });
        failedScreen(k, holdings, input, msg);
        return;
      }
      executed(k, input, pv, res);
    } catch (e2) {
      const info = asError(e2);
      const unknown = !info.type || info.type === 'internalError' || info.type === 'conflict';
      unsure = info.type !== 'previewExpired';
      if (unsure) idle();
      else expire();
      const msg = unknown ? t('transferUnsure', { name: integ.name }) : errorText(info);
      event('transferExecutionError', null, { errorMessage: msg });
      showError(err, msg);
    }
  } }, t('confirmTransfer')));
  const expiredNote = h('p', { class: 'muted', id: 'lv-expired', hidden: true, text: t('quoteExpired') });
  /** True (and the screen says so) once the quote is no longer valid. */
  function stale() {
    if (unsure || !pv.expiresInSeconds || Date.now() < expiresAt) return false;
    expire();
    return true;
  }
  /** Replaces Confirm by Preview again (which takes focus when Confirm had it). */
  function expire() {
    const a = document.activeElement;
    const focused = a === confirm || !a || a === document.body;
    confirm.disabled = true;
    confirm.hidden = true;
    expiredNote.hidden = false;
    again.hidden = false;
    if (focused) again.focus();
  }
  const seq = show('transfer-preview',
    h('h1', { text: t('reviewTitle') }),
    h('dl', { class: 'notice review' },
      row(t('amount'), 'lv-pv-amount', fmt(pv.amount, pv.symbol), true),
      row(t('fee'), 'lv-pv-fee', fee),
      row(t('total'), 'lv-pv-total', total, true),
      row(t('network'), 'lv-pv-network', pv.networkName),
      h('div', { class: 'kv kv-block' }, h('dt', { text: t('toAddress') }),
        h('dd', { id: 'lv-pv-address' }, h('code', { id: 'lv-pv-address-text', class: 'address', text: pv.toAddress }), h('span', { class: 'copy-row' }, copy, copied))),
      pv.addressTag ? row(t('addressTag'), 'lv-pv-tag', h('code', { class: 'address', text: pv.addressTag })) : null),
    fCode.wrap, expiredNote, err,
    h('div', { class: 'actions' }, confirm, again, backButton(() => transfer(k, holdings, input))));
  if (pv.expiresInSeconds) {
    const timer = window.setInterval(() => {
      if (document.getElementById('screen-transfer-preview') === null || stale()) window.clearInterval(timer);
    }, 500);
  }
  void seq;
}

/**
 * The exchange refused the transfer after it was confirmed: say so, nothing finished.
 * @param {Known} k
 * @param {Holdings | null} holdings
 * @param {TransferInput} input
 * @param {string} msg
 */
function failedScreen(k, holdings, input, msg) {
  atPage(Pages.error);
  show('transfer-failed',
    h('div', { class: 'hero' }, h('div', { class: 'status-icon status-error', 'aria-hidden': 'true' }), h('h1', { text: t('transferFailedTitle') }),
      h('p', { class: 'muted', id: 'lv-failed', text: msg })),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', id: 'lv-retry', onclick: () => transfer(k, holdings, input) }, t('tryAgain')),
      h('button', { type: 'button', class: 'button link', id: 'lv-done', onclick: done }, t('done'))));
}

/**
 * The exchange took the transfer: tell the app (Mesh's transferExecuted and
 * transferFinished) and show it.
 * @param {Known} k
 * @param {TransferInput} input
 * @param {import('./types.js').TransferPreview} pv
 * @param {import('./types.js').TransferResult} res
 */
function executed(k, input, pv, res) {
  const integ = integrationOf(k);
  const networkId = res.networkId || pv.networkId;
  const common = {
    txId: res.transferId,
    // An exchange withdrawal has no sender address the exchange reports.
    fromAddress: '',
    toAddress: res.toAddress || pv.toAddress,
    symbol: res.symbol || pv.symbol,
    amount: res.amount || pv.amount,
    networkId,
  };
  event('transferExecuted', null, { ...common, status: res.status === 'succeeded' ? 'success' : 'pending', clientTransactionId: pv.clientTransactionId });
  /** @type {Record<string, unknown>} */
  const finished = { status: 'success', ...common, networkName: res.networkName || pv.networkName || input.network, transferId: res.transferId, clientTransactionId: pv.clientTransactionId };
  if (res.hash) finished.txHash = res.hash;
  send({ type: 'transferFinished', payload: finished });
  atPage(Pages.transferExecuted, { integration: integ, transfer: { previewId: pv.previewId, symbol: common.symbol, amount: common.amount, transactionId: res.transferId, networkId } });
  show('transfer-done',
    h('div', { class: 'hero' }, h('div', { class: 'status-icon status-ok', 'aria-hidden': 'true' }), h('h1', { text: t('transferDone') }),
      h('p', { class: 'muted', text: t('transferDoneHint', { amount: amountFmt.format(common.amount) + ' ' + common.symbol, network: finished.networkName + '' }) })),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', id: 'lv-done', onclick: done }, t('done'))));
}
