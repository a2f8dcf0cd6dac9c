// Stored tokens of a return user: the app passes its tokenIds back into Link, and the
// page must wait for them before it shows anything, or the user sees the exchange
// catalog flash and then jump. When they arrive depends on the host (docs/mobile.md):
//
//   web SDK (iframe)  {type:'meshSDKSpecs'} then {type:'frontAccessTokens', payload: [...]},
//                     both posted in reply to the page's `loaded`.
//   iOS, Android, Flutter   window.meshSdkPlatform=…; window.accessTokens=…, evaluated by
//                     the native side in reply to `loaded` (one script, some time later).
//   React Native      the same assignments as injectedJavaScript: at document end (iOS)
//                     or when the page finished loading (Android), i.e. after this
//                     script started; with settings but no tokens the value is '{}'.
//
// Tokens already present when the page starts are used at once. Otherwise the page
// waits, showing a neutral loading screen, until the tokens arrive, until the host
// shows it has answered without tokens (meshSdkPlatform set alone, or meshSDKSpecs
// followed by nothing for SPECS_GRACE_MS), or for at most TOKEN_WAIT_MS.

import { framed, bridge, on } from './channel.js';

/** Longest wait for a host that never answers `loaded` (documented in docs/mobile.md). */
export const TOKEN_WAIT_MS = 3000;
/** After meshSDKSpecs, how long frontAccessTokens may take to follow it. */
export const SPECS_GRACE_MS = 100;

/**
 * The token references in v: an array, or a JSON string of one (the native SDKs set
 * window.accessTokens to either). Anything else is no tokens; entries without a
 * string accessToken are dropped.
 * @param {unknown} v
 * @returns {import('./types.js').TokenRef[]}
 */
export function parseTokens(v) {
  let list = v;
  if (typeof v === 'string') {
    try {
      list = JSON.parse(v);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  /** @type {import('./types.js').TokenRef[]} */
  const out = [];
  for (const x of list) {
    if (x && typeof x === 'object' && typeof x.accessToken === 'string' && x.accessToken) {
      out.push({ accessToken: x.accessToken, brokerType: typeof x.brokerType === 'string' ? x.brokerType : '' });
    }
  }
  return out;
}

/** @type {((list: import('./types.js').TokenRef[]) => void) | null} */
let late = null;

/**
 * Calls fn with tokens that arrive after waitForTokens gave up (the page decides
 * whether it can still use them).
 * @param {(list: import('./types.js').TokenRef[]) => void} fn
 */
export function onLateTokens(fn) {
  late = fn;
}

/**
 * Waits for the host's stored tokens as described above.
 * @returns {Promise<import('./types.js').TokenRef[]>}
 */
export function waitForTokens() {
  const w = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (window));
  return new Promise((resolve) => {
    let finished = false;
    /** @param {import('./types.js').TokenRef[]} list */
    const deliver = (list) => {
      if (!finished) {
        finished = true;
        resolve(list);
      } else if (list.length && late) {
        late(list);
      }
    };
    if (w.accessTokens !== undefined) {
      deliver(parseTokens(w.accessTokens));
      return;
    }
    if (!framed && !bridge) {
      deliver([]);
      return;
    }
    setTimeout(() => deliver([]), TOKEN_WAIT_MS);
    if (bridge) {
      watchGlobal(w, 'accessTokens', (v) => deliver(parseTokens(v)));
      // The native scripts set meshSdkPlatform first and accessTokens in the same
      // script when there are any: once it ran without them, there are none.
      watchGlobal(w, 'meshSdkPlatform', () => setTimeout(() => deliver([]), 0));
    } else {
      on('meshSDKSpecs', () => setTimeout(() => deliver([]), SPECS_GRACE_MS));
      on('frontAccessTokens', (payload) => deliver(parseTokens(payload)));
    }
  });
}

/**
 * Makes window[name] an accessor that reports every assignment to fn and keeps the
 * value, so a native `window.name = …` evaluated at any time is seen at once.
 * @param {Record<string, unknown>} w
 * @param {string} name
 * @param {(v: unknown) => void} fn
 */
function watchGlobal(w, name, fn) {
  let value = w[name];
  Object.defineProperty(w, name, {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (v) => {
      value = v;
      fn(v);
    },
  });
}
