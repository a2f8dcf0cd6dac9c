// The Link protocol's transport, shared by the Link page and the message pages: a
// native bridge inside a WebView, else window.postMessage to the parent frame. The
// parent's origin is learnt from its first meshSDKSpecs message; until then only
// `loaded` (which carries nothing) is posted, to any origin, and everything else
// waits. Messages from anyone but the parent frame, at that origin, are ignored.

import { detectBridge } from './bridge.js';

/** True when the page is inside an iframe. */
export const framed = window.parent !== window;

/** The native bridge, or null in a browser. */
export const bridge = detectBridge();

/** True when an app is listening: a parent frame or a native shell. */
export const hosted = framed || !!bridge;

/** @type {string | null} */
let parentOrigin = null;
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
    window.parent.postMessage({ type: 'loaded' }, '*');
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
    if (data.type !== 'meshSDKSpecs') return;
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
