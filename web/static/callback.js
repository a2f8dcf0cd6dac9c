// Entry point of the OAuth callback page. The server has already finished the
// sign-in; this script only helps the user back:
//   - in the sign-in popup (data-mode=popup): tell the Link page that opened it (same
//     origin only; the message carries nothing) and close. The Link page reads the
//     outcome from the server, so nothing is lost when the opener is gone;
//   - in the system browser a native SDK sent the exchange to (data-mode=redirect):
//     nothing to do; the page asks the user to return to the app, where Link reads
//     the outcome as soon as the app is in the foreground again.

const section = document.getElementById('lv-callback');
if (section && section.getAttribute('data-mode') !== 'redirect') {
  try {
    if (window.opener && window.opener !== window) {
      window.opener.postMessage({ type: 'lv:oauthFinished' }, window.location.origin);
    }
  } catch {
    // opener gone or cross-origin: the Link page polls instead
  }
  window.setTimeout(() => window.close(), 300);
}
