// linkvault web SDK: opens a Link session (from a linkToken) in an overlay or in the
// app's own iframe and turns the Link page's messages into callbacks. Mesh Link
// protocol; only messages from the Link page's own origin and frame are accepted.
const VERSION = '1.0.0';

function decodeLinkToken(linkToken) {
  let url;
  try { url = new URL(atob(linkToken)); } catch (e) { throw new Error('linkvault: linkToken is not a base64 URL'); }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('linkvault: linkToken is not an http(s) URL');
  return url;
}

export function createLink(options) {
  const o = options || {};
  let frame = null, overlay = null, origin = null, onMessage = null;

  function teardown() {
    if (onMessage) window.removeEventListener('message', onMessage);
    onMessage = null;
    if (overlay) overlay.remove();
    else if (frame) frame.removeAttribute('src');
    overlay = frame = origin = null;
  }

  function exit(type, payload) {
    teardown();
    if (o.onExit) o.onExit(payload && payload.errorMessage, payload);
    if (o.onEvent) o.onEvent({ type: type, payload: payload });
  }

  function openLink(linkToken, customIframeId) {
    teardown();
    const url = decodeLinkToken(linkToken);
    const q = url.searchParams;
    if (o.language) q.set('lng', o.language);
    if (o.displayFiatCurrency) q.set('fiatCur', o.displayFiatCurrency);
    if (o.theme) q.set('th', o.theme);
    const embedded = o.renderType === 'embedded' || !!customIframeId;
    if (embedded) q.set('rt', 'embedded');
    origin = url.origin;

    if (customIframeId) {
      frame = document.getElementById(customIframeId);
      if (!frame || frame.tagName !== 'IFRAME') throw new Error('linkvault: no iframe with id ' + customIframeId);
    } else {
      overlay = document.createElement('div');
      overlay.setAttribute('data-linkvault', 'overlay');
      overlay.style.cssText = 'position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;' +
        'justify-content:center;background:rgba(10,12,20,.55)';
      frame = document.createElement('iframe');
      frame.style.cssText = 'width:min(440px,100vw);height:min(720px,100vh);border:0;border-radius:16px;background:#fff';
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
    }
    frame.setAttribute('title', 'Link');
    frame.setAttribute('allow', 'clipboard-write');

    const tokens = o.accessTokens || [];
    onMessage = function (e) {
      if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
      const m = e.data;
      if (!m || typeof m.type !== 'string') return;
      switch (m.type) {
        case 'loaded':
          frame.contentWindow.postMessage({ type: 'meshSDKSpecs', payload: { platform: 'web', version: VERSION, origin: window.location.origin } }, origin);
          if (tokens.length) frame.contentWindow.postMessage({ type: 'frontAccessTokens', payload: tokens }, origin);
          break;
        case 'brokerageAccountAccessToken':
          if (o.onIntegrationConnected) o.onIntegrationConnected(m.payload);
          break;
        case 'transferFinished':
          if (o.onTransferFinished) o.onTransferFinished(m.payload);
          break;
        case 'close':
        case 'done':
          exit(m.type, m.payload);
          return;
      }
      if (o.onEvent) o.onEvent({ type: m.type, payload: m.payload });
    };
    window.addEventListener('message', onMessage);
    frame.src = url.toString();
  }

  function closeLink() { if (frame) exit('close'); }

  function closeLinkRequested() {
    if (frame && frame.contentWindow && origin) frame.contentWindow.postMessage({ type: 'closeRequested' }, origin);
  }

  return { openLink: openLink, closeLink: closeLink, closeLinkRequested: closeLinkRequested };
}
