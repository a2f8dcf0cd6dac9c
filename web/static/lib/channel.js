// The Link protocol's transport, shared by the Link page and the message pages: a
// native bridge inside a WebView, else window.postMessage to the parent frame. The
// parent's origin is learnt from its first meshSDKSpecs message; until then only
// `loaded` (which carries nothing) is posted, and everything else waits. Messages
// from anyone but the parent frame, at that origin, are ignored.
//
// The Link page passes its client's allowed origins (allowOrigins): then only a parent
// at one of them is answered, and `loaded` is addressed to them alone ("*" in the
// list: any site, as the operator chose). The message pages hold nothing of a session
// and talk to any parent.

import { detectBridge } from './bridge.js';

/** True when the page is inside an iframe. */
export const framed = window.parent !== window;

/** The native bridge, or null in a browser. */
export const bridge = detectBridge();

/** True when an app is listening: a parent frame or a native shell. */
export const hosted = framed || !!bridge;

/** @type {string | null} */
let parentOrigin = null;
/** @type {string[] | null} null: any origin (message pages) */
let allowed = null;

/**
 * Restricts the parent frame to these origins ("*" allows any).
 * @param {string[]} origins
 */
export function allowOrigins(origins) {
  allowed = origins.includes('*') ? null : origins.slice();
}

/**
 * Whether a parent at origin may talk to this page.
 * @param {string} origin
 */
function allowedOrigin(origin) {
  return allowed === null || allowed.includes(origin);
}
/** @type {import('./types.js').LinkMessage[]} */
let outbox = [];
/** @type {Map<string, (payload: unknown) => void>} */
const handlers = new Map();

/**
 * Sends msg to the app.
 * @param {import('./types.js').LinkMessage} msg
 */
export function send(msg) {
  if (bridge) {
    bridge.post(msg);
    return;
  }
  if (!framed) return;
  if (msg.type === 'loaded') {
    // A targetOrigin that is not the parent's drops the message, so each allowed
    // origin is tried and no other site hears even this.
    for (const o of allowed === null ? ['*'] : allowed) window.parent.postMessage({ type: 'loaded' }, o);
    return;
  }
  if (!parentOrigin) {
    outbox.push(msg);
    return;
  }
  window.parent.postMessage(msg, parentOrigin);
}

/**
 * Handles the parent's messages of one type (meshSDKSpecs included, after the
 * origin was taken from it).
 * @param {string} type
 * @param {(payload: unknown) => void} fn
 */
export function on(type, fn) {
  handlers.set(type, fn);
}

window.addEventListener('message', (e) => {
  if (!framed || e.source !== window.parent) return;
  const data = e.data;
  if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
  if (!parentOrigin) {
    if (data.type !== 'meshSDKSpecs' || !allowedOrigin(e.origin)) return;
    parentOrigin = e.origin;
    const queued = outbox;
    outbox = [];
    queued.forEach(send);
  } else if (e.origin !== parentOrigin) {
    return;
  }
  const fn = handlers.get(data.type);
  if (fn) fn(data.payload);
});
