// Script of the message pages (expired link, errors): the minimal Link protocol, so the
// app still learns that Link loaded and can be closed. Messages go only to the origin
// of the parent that sent meshSDKSpecs, or to a native shell's bridge.
(function () {
  'use strict';
  var section = document.getElementById('lv-message');
  var text = section ? (section.getAttribute('data-error') || '') : '';
  var framed = window.parent !== window;
  var parentOrigin = null;
  var bridge = null;
  if (window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.jsMessageHandler) {
    bridge = function (s) { window.webkit.messageHandlers.jsMessageHandler.postMessage(s); };
  } else if (window.JSBridge && typeof window.JSBridge.sendNativeMessage === 'function') {
    bridge = function (s) { window.JSBridge.sendNativeMessage(s); };
  } else if (window.ReactNativeWebView && typeof window.ReactNativeWebView.postMessage === 'function') {
    bridge = function (s) { window.ReactNativeWebView.postMessage(s); };
  }
  function close() {
    var msg = { type: 'close', payload: { errorMessage: text } };
    if (bridge) bridge(JSON.stringify(msg));
    else if (framed && parentOrigin) window.parent.postMessage(msg, parentOrigin);
  }
  window.addEventListener('message', function (e) {
    if (!framed || e.source !== window.parent || !e.data || typeof e.data !== 'object') return;
    if (!parentOrigin) {
      if (e.data.type === 'meshSDKSpecs') parentOrigin = e.origin;
      return;
    }
    if (e.origin === parentOrigin && e.data.type === 'closeRequested') close();
  });
  var button = document.getElementById('lv-exit');
  if (button && (framed || bridge)) {
    button.hidden = false;
    button.addEventListener('click', close);
  }
  if (bridge) bridge(JSON.stringify({ type: 'loaded' }));
  else if (framed) window.parent.postMessage({ type: 'loaded' }, '*');
})();
