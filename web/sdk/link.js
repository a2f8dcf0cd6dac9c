// linkvault web SDK, a drop-in for Mesh's @meshconnect/web-link-sdk: the same exports,
// options, callbacks, payloads and event names (link.d.ts), so switching is a one-line
// import change. It opens a Link session (from a linkToken) in an overlay or in the
// app's own iframe and turns the Link page's messages into callbacks. Unlike Mesh's,
// it accepts messages only from the Link frame at the linkToken's origin, and it loads
// nothing from anywhere else (no prewarm frame).
//
// The overlay is a modal dialog (role=dialog, aria-modal, labelled): focus moves into
// Link and stays there (the rest of the page is inert; the Link page keeps Tab inside
// itself), Escape closes it as the close button does, focus returns to where it was,
// the page behind does not scroll, and on a phone it is a full-height sheet.

const VERSION = '3.13.0-linkvault.1';

const EVENT_TYPES = [
  'integrationConnected', 'integrationConnectionError', 'integrationMfaRequired', 'integrationMfaEntered',
  'integrationOAuthStarted', 'integrationAccountSelectionRequired', 'transferCompleted', 'integrationSelected',
  'credentialsEntered', 'transferStarted', 'transferPreviewed', 'transferPreviewError', 'transferExecutionError',
  'transferConfigureError', 'pageLoaded', 'transferAssetSelected', 'transferNetworkSelected', 'transferAmountEntered',
  'transferMfaRequired', 'transferMfaEntered', 'transferKycRequired', 'transferExecuted', 'transferInitiated',
  'transferNoEligibleAssets', 'walletMessageSigned', 'verifyDonePage', 'verifyWalletRejected', 'connectionDeclined',
  'connectionUnavailable', 'transferDeclined', 'done', 'close', 'SDKinjectedWalletProviders', 'legalTermsViewed',
  'seeWhatHappenedClicked', 'executeFundingStep', 'fundingOptionsUpdated', 'fundingOptionsViewed', 'gasIncreaseWarning',
  'linkTransferQRGenerated', 'methodSelected', 'defiWalletError', 'homePageLoaded',
];

/**
 * Whether key is one of the event names onEvent receives.
 * @param {string} key
 * @returns {boolean}
 */
export function isLinkEventTypeKey(key) {
  return EVENT_TYPES.includes(key);
}

const POPUP_ID = 'mesh-link-popup';
/** The accessible name of the Link dialog and frame. */
const LINK_TITLE = 'Connect an account';
const IFRAME_ID = 'mesh-link-popup__iframe';

/**
 * @param {string} url
 * @param {string} key
 * @param {string} value
 */
function withParam(url, key, value) {
  return url + (url.includes('?') ? '&' : '?') + key + '=' + value;
}

/** @param {import('./link').LinkOptions} options */
export function createLink(options) {
  /** @type {HTMLIFrameElement | null} */
  let frame = null;
  /** @type {HTMLElement | null} */
  let overlay = null;
  /** @type {string | null} */
  let origin = null;
  /** @type {((e: MessageEvent) => void) | null} */
  let onMessage = null;
  let embedded = false;
  /** @type {(() => void) | null} */
  let restore = null;

  function teardown() {
    if (onMessage) window.removeEventListener('message', onMessage);
    onMessage = null;
    if (overlay) overlay.remove();
    overlay = null;
    if (restore) restore();
    restore = null;
  }

  /**
   * Makes the overlay modal: the rest of the page inert and unscrollable, focus in
   * Link, Escape closing, the phone layout; returns what undoes it (focus back on the
   * element that had it).
   * @param {HTMLElement} box
   * @param {HTMLIFrameElement} f
   * @returns {() => void}
   */
  function makeModal(box, f) {
    const before = /** @type {HTMLElement | null} */ (document.activeElement);
    /** @type {Array<[HTMLElement, boolean]>} */
    const inert = [];
    for (const el of Array.from(document.body.children)) {
      if (el === box || !(el instanceof HTMLElement)) continue;
      inert.push([el, el.inert]);
      el.inert = true;
    }
    const root = document.documentElement;
    const overflow = [root.style.overflow, document.body.style.overflow];
    root.style.overflow = 'hidden';
    document.body.style.overflow = 'hidden';
    const phone = window.matchMedia('(max-width: 480px)');
    const layout = () => {
      f.style.width = phone.matches ? '100vw' : 'min(440px,100vw)';
      f.style.height = phone.matches ? '100dvh' : 'min(720px,100dvh)';
      f.style.borderRadius = phone.matches ? '0' : '16px';
    };
    layout();
    phone.addEventListener('change', layout);
    /** @param {KeyboardEvent} e */
    const onKey = (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        closeLink();
      } else if (e.key === 'Tab') {
        // Focus on the page itself (the frame lost it): back into Link.
        e.preventDefault();
        f.focus();
      }
    };
    document.addEventListener('keydown', onKey, true);
    f.addEventListener('load', () => f.focus(), { once: true });
    f.focus();
    return () => {
      document.removeEventListener('keydown', onKey, true);
      phone.removeEventListener('change', layout);
      for (const [el, was] of inert) el.inert = was;
      root.style.overflow = overflow[0];
      document.body.style.overflow = overflow[1];
      if (before && before.isConnected && typeof before.focus === 'function') before.focus();
    };
  }

  /** @param {string} [msg] */
  function fail(msg) {
    if (options && options.onExit) options.onExit(msg);
  }

  /**
   * @param {string} linkToken
   * @param {string} [customIframeId]
   */
  function openLink(linkToken, customIframeId) {
    if (!linkToken) return fail('Invalid link token!');
    if (options.renderType === 'embedded' && !customIframeId) {
      const msg = 'linkvault SDK: renderType "embedded" requires a customIframeId';
      console.error(msg);
      return fail(msg);
    }
    let url;
    try {
      url = window.atob(linkToken);
    } catch {
      return fail('Invalid link token!');
    }
    if (!url.startsWith('http://') && !url.startsWith('https://')) return fail('Invalid link token!');
    let lng = options.language;
    if (lng === 'system') lng = typeof navigator !== 'undefined' && navigator.language ? encodeURIComponent(navigator.language) : undefined;
    url = withParam(url, 'lng', lng || 'en');
    if (options.displayFiatCurrency) url = withParam(url, 'fiatCur', options.displayFiatCurrency);
    if (options.theme) url = withParam(url, 'th', options.theme);
    embedded = options.renderType === 'embedded';
    if (embedded) url = withParam(url, 'rt', 'embedded');
    let linkOrigin;
    try {
      linkOrigin = new URL(url).origin;
    } catch {
      return fail('Invalid link token!');
    }
    teardown();
    origin = linkOrigin;
    const allow = 'clipboard-read *; clipboard-write *; camera ' + origin + '; microphone ' + origin;
    if (customIframeId) {
      const el = document.getElementById(customIframeId);
      if (!(el instanceof HTMLIFrameElement)) {
        console.warn('linkvault SDK: no iframe with id ' + customIframeId);
        return;
      }
      frame = el;
    } else {
      overlay = document.createElement('div');
      overlay.id = POPUP_ID;
      overlay.setAttribute('data-linkvault', 'overlay');
      overlay.setAttribute('role', 'dialog');
      overlay.setAttribute('aria-modal', 'true');
      overlay.setAttribute('aria-label', LINK_TITLE);
      overlay.style.cssText = 'position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;' +
        'justify-content:center;background:rgba(10,12,20,.55);overscroll-behavior:contain';
      frame = document.createElement('iframe');
      frame.id = IFRAME_ID;
      frame.style.cssText = 'width:min(440px,100vw);height:min(720px,100dvh);border:0;border-radius:16px;background:#fff';
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
      restore = makeModal(overlay, frame);
    }
    frame.setAttribute('title', LINK_TITLE);
    frame.allow = allow;
    const tokens = options.accessTokens;
    onMessage = (e) => {
      if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
      const m = e.data;
      if (!m || typeof m !== 'object' || typeof m.type !== 'string') return;
      handle(m, tokens);
    };
    window.addEventListener('message', onMessage);
    frame.src = url;
  }

  /**
   * @param {{ type: string, payload?: any }} m
   * @param {import('./link').IntegrationAccessToken[] | undefined} tokens
   */
  function handle(m, tokens) {
    const o = options;
    switch (m.type) {
      case 'brokerageAccountAccessToken':
      case 'delayedAuthentication': {
        /** @type {import('./link').LinkPayload} */
        const payload = m.type === 'brokerageAccountAccessToken' ? { accessToken: m.payload } : { delayedAuth: m.payload };
        if (o.onEvent) o.onEvent({ type: 'integrationConnected', payload });
        if (o.onIntegrationConnected) o.onIntegrationConnected(payload);
        break;
      }
      case 'transferFinished':
        if (o.onEvent) o.onEvent({ type: 'transferCompleted', payload: m.payload });
        if (o.onTransferFinished) o.onTransferFinished(m.payload);
        break;
      case 'close':
      case 'done': {
        const summary = m.payload;
        teardown();
        if (o.onExit) o.onExit(summary && summary.errorMessage, summary);
        break;
      }
      case 'loaded':
        post({ type: 'meshSDKSpecs', payload: { platform: 'web', version: VERSION, origin: window.location.origin } });
        if (tokens) post({ type: 'frontAccessTokens', payload: tokens });
        if (o.onEvent) o.onEvent({ type: 'pageLoaded' });
        break;
      default:
        if (o.onEvent && isLinkEventTypeKey(m.type)) o.onEvent(/** @type {import('./link').LinkEventType} */ (m));
    }
  }

  /** @param {{ type: string, payload?: unknown }} msg */
  function post(msg) {
    if (frame && frame.contentWindow && origin) frame.contentWindow.postMessage(msg, origin);
  }

  function closeLink() {
    teardown();
    if (options.onExit) options.onExit();
  }

  function closeLinkRequested() {
    if (embedded) post({ type: 'closeRequested' });
    else closeLink();
  }

  return { openLink, closeLink, closeLinkRequested };
}
