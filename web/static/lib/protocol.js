// What the Link page tells the app, in the shapes Mesh's SDKs decode (docs/mobile.md
// lists each SDK's model and the source it was read from):
//   - progress events {type, payload} with Mesh's event names and payload fields;
//   - close / done with a SessionSummary {page, selectedIntegration?, transfer?,
//     errorMessage?}; `page` names the screen the session ended on, in Mesh's style
//     (integrationConnectedPage, transferExecutedPage, errorPage, ...);
//   - showClose when the user presses the page's close button inside a native SDK:
//     every native SDK answers it with its own "are you sure?" dialog and then closes.

import { send, bridge } from './channel.js';

/**
 * @typedef {object} SelectedIntegration
 * @property {string} id
 * @property {string} name
 * @property {string} integrationType
 * @property {string} integrationName
 */

/**
 * @typedef {object} TransferSummary
 * @property {string} [previewId]
 * @property {string} [symbol]
 * @property {number} [amount]
 * @property {string} [transactionId]
 * @property {string} [networkId]
 */

/**
 * @typedef {object} SessionSummary
 * @property {string} page
 * @property {SelectedIntegration} [selectedIntegration]
 * @property {TransferSummary} [transfer]
 * @property {string} [errorMessage]
 */

/** Mesh-style names of the screens, as SessionSummary.page reports them. */
export const Pages = Object.freeze({
  loading: 'loadingPage',
  catalog: 'catalogPage',
  login: 'integrationLoginPage',
  mfa: 'integrationMfaPage',
  selectAccounts: 'accountSelectionPage',
  connected: 'integrationConnectedPage',
  accounts: 'accountsPage',
  account: 'accountPage',
  transferForm: 'transferFormPage',
  transferPreview: 'transferPreviewPage',
  transferExecuted: 'transferExecutedPage',
  error: 'errorPage',
});

/** @type {SessionSummary} */
let summary = { page: Pages.loading };

/**
 * Records the screen on display (and, when given, the integration and transfer it is
 * about) for the summary sent with close and done.
 * @param {string} page one of Pages
 * @param {{ integration?: import('./types.js').Integration | null, transfer?: TransferSummary | null }} [about]
 */
export function atPage(page, about) {
  summary = { ...summary, page };
  if (about && about.integration) {
    const i = about.integration;
    summary.selectedIntegration = { id: i.type, name: i.name, integrationType: i.type, integrationName: i.name };
  }
  if (about && about.transfer !== undefined) {
    if (about.transfer) summary.transfer = about.transfer;
    else delete summary.transfer;
  }
}

/**
 * A progress event. integ adds Mesh's integrationType / integrationName.
 * @param {string} type
 * @param {import('./types.js').Integration | null} [integ]
 * @param {Record<string, unknown>} [extra]
 */
export function event(type, integ, extra) {
  /** @type {Record<string, unknown>} */
  const payload = { ...extra };
  if (integ) {
    payload.integrationType = integ.type;
    payload.integrationName = integ.name;
  }
  send({ type, payload });
}

/**
 * The session ends without finishing (close): the app's onExit.
 * @param {string} [errorMessage]
 */
export function close(errorMessage) {
  send({ type: 'close', payload: withError(errorMessage) });
}

/** The user finished (done): the app's onExit with the summary. */
export function done() {
  send({ type: 'done', payload: withError(undefined) });
}

/**
 * The user pressed the page's close button: a native shell asks for confirmation
 * itself (showClose); an app page gets close at once.
 */
export function closePressed() {
  if (bridge) send({ type: 'showClose' });
  else close();
}

/**
 * @param {string | undefined} errorMessage
 * @returns {SessionSummary}
 */
function withError(errorMessage) {
  /** @type {SessionSummary} */
  const s = { ...summary };
  if (errorMessage) s.errorMessage = errorMessage;
  return s;
}
