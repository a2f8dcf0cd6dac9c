// Calls to the server's /link/api/* endpoints, authenticated by the page secret
// (custom header: no cookies in third-party iframes, and no CSRF). No call sends
// cookies; only the start of a redirect-mode OAuth flow keeps the one its answer sets
// (oauth.js).

import { boot } from './state.js';

/**
 * Calls the Link API and returns the envelope's content; a non-ok envelope rejects
 * with an Error carrying errorType (type) and displayMessage (display).
 * @template T
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {RequestCredentials} [credentials] 'omit' unless the answer sets a cookie to keep
 * @returns {Promise<T>}
 */
export async function api(method, path, body, credentials) {
  /** @type {RequestInit & { headers: Record<string, string> }} */
  const init = { method, headers: { 'X-Link-Page': boot.secret }, credentials: credentials || 'omit', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  /** @type {{ status?: string, message?: string, displayMessage?: string, errorType?: string, content?: T }} */
  const env = await res.json().catch(() => ({ status: 'serverFailure' }));
  if (env.status !== 'ok') throw new ApiError(env.message || 'request failed', env.errorType, env.displayMessage);
  return /** @type {T} */ (env.content);
}

/** A failed Link API call. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {string} [type] errorType of the envelope
   * @param {string} [display] displayMessage of the envelope
   */
  constructor(message, type, display) {
    super(message);
    this.type = type;
    this.display = display;
  }
}
