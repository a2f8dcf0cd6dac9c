// Native bridges: how the Link page talks to the app when a native SDK shows it in a
// WebView. Each Mesh SDK installs its own object before the page runs and accepts
// its own body type; a wrong type is dropped silently by the SDK, so each one is
// matched exactly (sources and commits in docs/mobile.md and e2e/browser/native_test.go):
//
//   iOS (mesh-ios-sdk)          webkit.messageHandlers.jsMessageHandler.postMessage(object)
//   Android (mesh-android-sdk)  JSBridge.sendNativeMessage(JSON string)
//   React Native                ReactNativeWebView.postMessage(JSON string)
//   Flutter (webview_flutter)   JSBridge.postMessage(JSON string); on iOS the same channel
//                               is webkit.messageHandlers.JSBridge

/**
 * @typedef {object} Bridge
 * @property {'ios' | 'android' | 'reactNative' | 'flutter'} platform
 * @property {(msg: import('./types.js').LinkMessage) => void} post
 */

/** @typedef {{ postMessage?: (body: unknown) => void, sendNativeMessage?: (body: string) => void }} NativeObject */

/**
 * The native bridge of the WebView the page runs in, or null in a browser.
 * @returns {Bridge | null}
 */
export function detectBridge() {
  const w = /** @type {Record<string, any>} */ (/** @type {unknown} */ (window));
  /** @type {Record<string, NativeObject> | undefined} */
  const handlers = w.webkit && w.webkit.messageHandlers;
  /** @type {NativeObject | undefined} */
  const js = w.JSBridge;
  /** @type {NativeObject | undefined} */
  const rn = w.ReactNativeWebView;
  const ios = handlers && handlers.jsMessageHandler;
  if (ios && typeof ios.postMessage === 'function') {
    // LinkWebViewViewController accepts `message.body as? [String: Any]` only.
    return { platform: 'ios', post: (msg) => ios.postMessage?.(plain(msg)) };
  }
  if (js && typeof js.sendNativeMessage === 'function') {
    return { platform: 'android', post: (msg) => js.sendNativeMessage?.(JSON.stringify(msg)) };
  }
  const flutter = (js && typeof js.postMessage === 'function') ? js : handlers && handlers.JSBridge;
  if (flutter && typeof flutter.postMessage === 'function') {
    return { platform: 'flutter', post: (msg) => flutter.postMessage?.(JSON.stringify(msg)) };
  }
  if (rn && typeof rn.postMessage === 'function') {
    return { platform: 'reactNative', post: (msg) => rn.postMessage?.(JSON.stringify(msg)) };
  }
  return null;
}

/**
 * A JSON-only copy of msg (no undefined, functions or prototypes), as WebKit passes
 * a dictionary to the native side.
 * @param {import('./types.js').LinkMessage} msg
 * @returns {unknown}
 */
function plain(msg) {
  return JSON.parse(JSON.stringify(msg));
}
