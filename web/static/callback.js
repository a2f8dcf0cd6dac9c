// Entry point of the OAuth callback page inside the sign-in popup: tell the Link page
// that opened it (same origin only; the message carries nothing) and close. The Link
// page reads the outcome from the server, so nothing is lost when the opener is gone.

try {
  if (window.opener && window.opener !== window) {
    window.opener.postMessage({ type: 'lv:oauthFinished' }, window.location.origin);
  }
} catch {
  // opener gone or cross-origin: the Link page polls instead
}
window.setTimeout(() => window.close(), 300);
