// DOM helpers of the Link pages: element construction without innerHTML (the CSP
// forbids inline script anyway; building nodes keeps every text a text node), and
// the one-screen-at-a-time mount point of the Link page.

/** @typedef {string | number | boolean | null | undefined | ((e: Event) => void)} AttrValue */
/** @typedef {Record<string, AttrValue>} Attrs */
/** @typedef {Node | string | null | undefined | false | Array<Node | null | undefined | false>} Child */

/**
 * Creates an element. Attributes: `text` sets textContent, `on<event>` adds a listener,
 * true sets an empty attribute, null/undefined/false leave it out.
 * @param {string} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) {
      for (const x of c) if (x) el.appendChild(x);
    } else {
      el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
  }
  return el;
}

/**
 * A button (type=button).
 * @param {string} text
 * @param {(e: Event) => void} onclick
 * @param {string} [cls] extra classes: secondary, link
 * @param {string} [id]
 * @returns {HTMLButtonElement}
 */
export function button(text, onclick, cls, id) {
  return /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'button ' + (cls || ''), onclick, id }, text));
}

/**
 * A paragraph for an error message, hidden until it has one (role=alert).
 * @returns {HTMLElement}
 */
export function errorLine() {
  return h('p', { class: 'error', role: 'alert', id: 'lv-error', hidden: true });
}

/**
 * Shows msg in an errorLine.
 * @param {HTMLElement} el
 * @param {string} msg
 */
export function showError(el, msg) {
  el.textContent = msg;
  el.hidden = false;
}

/**
 * A form field with its label, an optional hint and the line that says what is wrong
 * with it (linked by aria-describedby; aria-invalid while it shows).
 * @param {string} label
 * @param {HTMLInputElement | HTMLSelectElement} control
 * @param {HTMLElement | null} [hint]
 */
export function field(label, control, hint) {
  const err = h('p', { class: 'field-error', id: control.id + '-error', hidden: true });
  const ids = [hint ? hint.id : '', err.id].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', ids);
  const wrap = h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hint, err);
  return {
    wrap,
    /** @param {string} msg '' clears it */
    set(msg) {
      err.textContent = msg;
      err.hidden = !msg;
      if (msg) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    },
  };
}

/**
 * Disables btn while the call it started runs. The returned function enables it
 * again and, when btn had focus (disabling a focused button drops focus to the
 * page's body, from where Tab starts over), gives it focus back.
 * @param {HTMLButtonElement} btn
 * @returns {() => void}
 */
export function busy(btn) {
  const had = document.activeElement === btn;
  btn.disabled = true;
  return () => {
    btn.disabled = false;
    if (had && btn.isConnected && !btn.hidden && (!document.activeElement || document.activeElement === document.body)) btn.focus();
  };
}

let seq = 0;

/**
 * The number of the screen on display; a callback that finishes after the user moved
 * on compares it with the number it started on.
 * @returns {number}
 */
export function currentScreen() { return seq; }

/**
 * Replaces the page's screen by a new <section data-screen=name> holding children,
 * and moves focus to its autofocus element or its heading.
 * @param {string} name
 * @param {...Child} children
 * @returns {number} the new screen's number (see currentScreen)
 */
export function show(name, ...children) {
  seq++;
  const s = h('section', { class: 'screen', 'data-screen': name, id: 'screen-' + name }, ...children);
  const app = document.getElementById('lv-app');
  if (app) app.replaceChildren(s);
  // The window's title names the screen (screen readers announce it; the header
  // names the app).
  const title = s.querySelector('h1');
  if (title && title.textContent) document.title = title.textContent;
  const focus = /** @type {HTMLElement | null} */ (s.querySelector('[autofocus]') || s.querySelector('h1'));
  if (focus) {
    if (focus.tagName === 'H1') focus.setAttribute('tabindex', '-1');
    focus.focus();
  }
  return seq;
}
