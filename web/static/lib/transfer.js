// Transfers from a connected account (write permission): the form, the exchange's
// quote (preview) and the confirmation. Back from the preview returns to the form as
// the user left it. The app hears Mesh's transfer events; transferFinished only for
// an executed transfer, failures as transferPreviewError / transferExecutionError.

import { h, show, errorLine, showError } from './dom.js';
import { t, errorText, amountFmt } from './state.js';
import { api } from './api.js';
import { send } from './channel.js';
import { Pages, atPage, event, done } from './protocol.js';
import { backButton, asError, selectIntegration } from './connect.js';
import { account, integrationOf } from './portfolio.js';

/** @typedef {import('./types.js').Known} Known */
/** @typedef {import('./types.js').Holdings} Holdings */

/**
 * What the user entered in the form.
 * @typedef {object} TransferInput
 * @property {string} symbol
 * @property {string} network
 * @property {string} toAddress
 * @property {string} amount as typed
 */

/**
 * The transfer form. values, when set, fills it in (coming back from the preview).
 * @param {Known} k
 * @param {Holdings | null} holdings
 * @param {TransferInput | null} values
 */
export function transfer(k, holdings, values) {
  const integ = integrationOf(k);
  atPage(Pages.transferForm, { integration: integ, transfer: null });
  if (!values) event('transferStarted', integ);
  const err = errorLine();
  const symbols = ((holdings && holdings.cryptocurrencyPositions) || []).map((p) => p.symbol);
  const symbol = /** @type {HTMLSelectElement} */ (h('select', { id: 'lv-symbol', name: 'symbol',
    onchange: () => event('transferAssetSelected', null, { symbol: symbol.value }) },
  symbols.map((s) => h('option', { value: s, text: s }))));
  const network = /** @type {HTMLSelectElement} */ (h('select', { id: 'lv-network', name: 'network',
    onchange: () => event('transferNetworkSelected', null, { id: network.value, name: network.value }) },
  (integ.networks || []).map((n) => h('option', { value: n, text: n }))));
  const address = /** @type {HTMLInputElement} */ (h('input', { type: 'text', id: 'lv-address', name: 'address', required: true, autocomplete: 'off', autofocus: true }));
  const amount = /** @type {HTMLInputElement} */ (h('input', { type: 'text', id: 'lv-amount', name: 'amount', inputmode: 'decimal', required: true,
    onchange: () => event('transferAmountEntered') }));
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'button', id: 'lv-submit' }, t('preview')));
  if (values) {
    symbol.value = values.symbol;
    network.value = values.network;
    address.value = values.toAddress;
    amount.value = values.amount;
  }
  show('transfer',
    h('h1', { text: t('transferTitle', { name: integ.name }) }),
    h('form', {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        err.hidden = true;
        /** @type {TransferInput} */
        const input = { symbol: symbol.value, network: network.value, toAddress: address.value, amount: amount.value };
        const req = { tokenId: k.tokenId, symbol: input.symbol, network: input.network, toAddress: input.toAddress, amount: Number(input.amount) };
        try {
          /** @type {import('./types.js').TransferPreview} */
          const pv = await api('POST', '/link/api/transfer/preview', req);
          event('transferPreviewed', integ, {
            previewId: pv.previewId, symbol: pv.symbol, amount: pv.amount, toAddress: pv.toAddress,
            networkId: pv.networkId || input.network, networkName: pv.networkName || input.network,
            estimatedNetworkGasFee: { fee: pv.estimatedNetworkGasFee, feeCurrency: pv.symbol },
          });
          preview(k, holdings, input, req, pv);
        } catch (e2) {
          const info = asError(e2);
          submit.disabled = false;
          const msg = info.type === 'scopeMismatch' ? t('transferNotAllowed') : errorText(info);
          event('transferPreviewError', null, { errorMessage: msg });
          if (info.type === 'reauthenticationRequired') {
            k.status = 'reauthRequired';
            selectIntegration(integ, k.tokenId, false);
            return;
          }
          showError(err, msg);
        }
      },
    },
    h('label', null, t('symbol'), symbol), h('label', null, t('network'), network),
    h('label', null, t('toAddress'), address), h('label', null, t('amount'), amount), err,
    h('div', { class: 'actions' }, submit, backButton(() => account(k, holdings)))));
}

/**
 * The quote, with Confirm and Back (to the form as it was).
 * @param {Known} k
 * @param {Holdings | null} holdings
 * @param {TransferInput} input
 * @param {{ tokenId: string, symbol: string, network: string, toAddress: string, amount: number }} req
 * @param {import('./types.js').TransferPreview} pv
 */
function preview(k, holdings, input, req, pv) {
  const integ = integrationOf(k);
  atPage(Pages.transferPreview, { integration: integ, transfer: { previewId: pv.previewId, symbol: pv.symbol, amount: pv.amount, networkId: pv.networkId } });
  const err = errorLine();
  const confirm = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'button', id: 'lv-confirm', onclick: async () => {
    confirm.disabled = true;
    err.hidden = true;
    try {
      /** @type {import('./types.js').TransferResult} */
      const res = await api('POST', '/link/api/transfer/execute', { tokenId: req.tokenId, previewId: pv.previewId });
      if (res.status === 'mfaRequired' || res.status === 'mfaFailed') {
        // Nothing moved: the exchange wants a code this page cannot collect yet.
        confirm.disabled = false;
        event('transferExecutionError', null, { errorMessage: t('transferNeedsCode') });
        showError(err, t('transferNeedsCode'));
        return;
      }
      executed(k, input, pv, res);
    } catch (e2) {
      confirm.disabled = false;
      const msg = errorText(asError(e2));
      event('transferExecutionError', null, { errorMessage: msg });
      showError(err, msg);
    }
  } }, t('confirmTransfer')));
  show('transfer-preview',
    h('h1', { text: t('transferTitle', { name: integ.name }) }),
    h('div', { class: 'notice' },
      h('div', { class: 'kv' }, h('span', { text: t('amount') }), h('strong', { id: 'lv-pv-amount', text: amountFmt.format(pv.amount) + ' ' + pv.symbol })),
      h('div', { class: 'kv' }, h('span', { text: t('fee') }), h('span', { id: 'lv-pv-fee', text: amountFmt.format(pv.estimatedNetworkGasFee) + ' ' + pv.symbol })),
      h('div', { class: 'kv' }, h('span', { text: t('total') }), h('strong', { id: 'lv-pv-total', text: amountFmt.format(pv.totalAmount) + ' ' + pv.symbol })),
      h('div', { class: 'kv' }, h('span', { text: t('toAddress') }), h('span', { id: 'lv-pv-address', text: pv.toAddress }))),
    err,
    h('div', { class: 'actions' }, confirm, backButton(() => transfer(k, holdings, input))));
}

/**
 * The transfer went out: tell the app (Mesh's transferExecuted and transferFinished)
 * and show it.
 * @param {Known} k
 * @param {TransferInput} input
 * @param {import('./types.js').TransferPreview} pv
 * @param {import('./types.js').TransferResult} res
 */
function executed(k, input, pv, res) {
  const integ = integrationOf(k);
  const networkId = pv.networkId || input.network;
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
  const finished = { status: 'success', ...common, networkName: res.networkName || pv.networkName || networkId, transferId: res.transferId, clientTransactionId: pv.clientTransactionId };
  if (res.hash) finished.txHash = res.hash;
  send({ type: 'transferFinished', payload: finished });
  atPage(Pages.transferExecuted, { integration: integ, transfer: { previewId: pv.previewId, symbol: common.symbol, amount: common.amount, transactionId: res.transferId, networkId } });
  show('transfer-done',
    h('div', { class: 'hero' }, h('div', { class: 'status-icon status-ok' }), h('h1', { text: t('transferDone') }),
      h('p', { class: 'muted', text: amountFmt.format(common.amount) + ' ' + common.symbol })),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', id: 'lv-done', onclick: done }, t('done'))));
}
