// The Link page's session state: the boot data the server rendered on
// <body data-boot>, its text and formatters, and the integrations it may connect.

import { makeText } from './i18n.js';

/** @type {import('./types.js').Boot} */
export const boot = Object.assign(
  { secret: '', lang: 'en', fiatCur: 'USD', theme: 'system', renderType: 'overlay', permission: 'read', integrations: [], messages: {} },
  JSON.parse(document.body.getAttribute('data-boot') || '{}'),
);

export const { t, errorText, money, moneyIn, amount: amountFmt, time: timeFmt } = makeText(boot.messages, boot.lang, boot.fiatCur);

/**
 * The integration of a brokerType, if this session offers it.
 * @param {string | undefined} type
 * @returns {import('./types.js').Integration | null}
 */
export function byType(type) {
  return boot.integrations.find((i) => i.type === type) || null;
}
