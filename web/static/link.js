// Link page script. It renders every screen of a Link session from the boot data the
// server put on <body data-boot>, calls the server's /link/api/* endpoints with the
// page secret, and speaks the Link protocol with the app: window.postMessage to the
// parent frame (origin-checked both ways), or a native bridge inside WebViews.
(function () {
  'use strict';

  var boot = JSON.parse(document.body.getAttribute('data-boot') || '{}');
  var app = document.getElementById('lv-app');
  var messages = boot.messages || {};
  var integrations = boot.integrations || [];
  var framed = window.parent !== window;

  // ---- text and numbers ----
  function t(key, vars) {
    var s = messages[key] || key;
    if (vars) {
      Object.keys(vars).forEach(function (k) { s = s.split('{' + k + '}').join(vars[k]); });
    }
    return s;
  }
  function errorText(err) {
    var key = 'err.' + (err && err.type);
    if (messages[key]) return messages[key];
    return (err && err.display) || t('err.generic');
  }
  var money, amountFmt;
  try {
    money = new Intl.NumberFormat(boot.lang, { style: 'currency', currency: boot.fiatCur || 'USD' });
  } catch (e) {
    money = new Intl.NumberFormat('en', { style: 'currency', currency: 'USD' });
  }
  amountFmt = new Intl.NumberFormat(boot.lang, { maximumFractionDigits: 8 });

  // ---- DOM ----
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'text') el.textContent = v;
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x) el.appendChild(x); });
      else el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
  }
  var screenSeq = 0;
  function show(name) {
    screenSeq++;
    var s = h.apply(null, ['section', { 'class': 'screen', 'data-screen': name, id: 'screen-' + name }]
      .concat(Array.prototype.slice.call(arguments, 1)));
    app.replaceChildren(s);
    var focus = s.querySelector('[autofocus]') || s.querySelector('h1');
    if (focus) { if (focus.tagName === 'H1') focus.setAttribute('tabindex', '-1'); focus.focus(); }
    return s;
  }
  function logo(integ, big) {
    return h('img', { 'class': big ? 'logo logo-lg' : 'logo', src: integ.logoUrl, alt: '' });
  }
  function button(text, onclick, cls, id) {
    return h('button', { type: 'button', 'class': 'button ' + (cls || ''), onclick: onclick, id: id }, text);
  }
  function byType(type) {
    for (var i = 0; i < integrations.length; i++) if (integrations[i].type === type) return integrations[i];
    return null;
  }

  // ---- server calls ----
  function api(method, path, body) {
    var init = { method: method, headers: { 'X-Link-Page': boot.secret }, credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.json().catch(function () { return { status: 'serverFailure' }; });
    }).then(function (env) {
      if (env.status !== 'ok') {
        var err = new Error(env.message || 'request failed');
        err.type = env.errorType;
        err.display = env.displayMessage;
        throw err;
      }
      return env.content;
    });
  }

  // ---- messages to the app ----
  var bridge = null;
  if (window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.jsMessageHandler) {
    bridge = function (s) { window.webkit.messageHandlers.jsMessageHandler.postMessage(s); };
  } else if (window.JSBridge && typeof window.JSBridge.sendNativeMessage === 'function') {
    bridge = function (s) { window.JSBridge.sendNativeMessage(s); };
  } else if (window.ReactNativeWebView && typeof window.ReactNativeWebView.postMessage === 'function') {
    bridge = function (s) { window.ReactNativeWebView.postMessage(s); };
  }
  var parentOrigin = null; // set from the first meshSDKSpecs sent by the parent frame
  var outbox = [];
  function send(msg) {
    if (bridge) { bridge(JSON.stringify(msg)); return; }
    if (!framed) return;
    if (msg.type === 'loaded') { window.parent.postMessage({ type: 'loaded' }, '*'); return; }
    if (!parentOrigin) { outbox.push(msg); return; }
    window.parent.postMessage(msg, parentOrigin);
  }
  function event(type, integ, extra) {
    var payload = extra || {};
    if (integ) { payload.integrationType = integ.type; payload.integrationName = integ.name; }
    send({ type: type, payload: payload });
  }

  var tokensArrived = null; // resolves the wait for frontAccessTokens
  window.addEventListener('message', function (e) {
    if (e.source === popup && popup && e.origin === window.location.origin) {
      if (e.data && e.data.type === 'lv:oauthFinished') pollNow();
      return;
    }
    if (!framed || e.source !== window.parent) return;
    var data = e.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    if (!parentOrigin) {
      if (data.type !== 'meshSDKSpecs') return;
      parentOrigin = e.origin;
      var queued = outbox; outbox = [];
      queued.forEach(send);
      if (specsArrived) specsArrived();
      return;
    }
    if (e.origin !== parentOrigin) return;
    if (data.type === 'frontAccessTokens') {
      var list = Array.isArray(data.payload) ? data.payload : [];
      if (tokensArrived) tokensArrived(list); else returnUser(list);
    } else if (data.type === 'closeRequested') {
      exit();
    }
  });

  function exit(payload) { send({ type: 'close', payload: payload || {} }); }
  function done(payload) { send({ type: 'done', payload: payload || {} }); }

  var closeButton = document.getElementById('lv-close');
  if (boot.renderType !== 'embedded' && (framed || bridge)) {
    closeButton.hidden = false;
    closeButton.addEventListener('click', function () { exit(); });
  }

  // ---- start ----
  var specsArrived = null;
  function waitForTokens() {
    return new Promise(function (resolve) {
      var injected = [];
      if (typeof window.accessTokens === 'string' && window.accessTokens) {
        try { injected = JSON.parse(window.accessTokens); } catch (e) { injected = []; }
      } else if (Array.isArray(window.accessTokens)) {
        injected = window.accessTokens;
      }
      if (!framed || bridge) { resolve(Array.isArray(injected) ? injected : []); return; }
      var finished = false;
      function finish(list) { if (!finished) { finished = true; tokensArrived = null; resolve(list); } }
      tokensArrived = finish;
      // The SDK sends frontAccessTokens right after meshSDKSpecs; allow a moment for it,
      // and do not wait forever for a parent that never speaks.
      specsArrived = function () { setTimeout(function () { finish([]); }, 300); };
      setTimeout(function () { finish([]); }, 2000);
    });
  }

  function start() {
    send({ type: 'loaded' });
    if (boot.outcome) { handleOutcome(boot.outcome, boot.reauthTokenId ? byType(boot.outcome.payload && boot.outcome.payload.brokerType) : null); return; }
    show('loading', h('div', { 'class': 'spinner', role: 'progressbar', 'aria-label': t('loading') }));
    waitForTokens().then(function (list) {
      if (list.length) returnUser(list); else home();
    });
  }

  function home() {
    if (boot.options && boot.options.brokerType) {
      var only = byType(boot.options.brokerType);
      if (only) { selectIntegration(only, null, true); return; }
    }
    catalog();
  }

  // ---- catalog ----
  function catalog() {
    show('catalog',
      h('h1', { text: t('catalogTitle') }),
      h('p', { 'class': 'muted', text: t('catalogHint') }),
      h('ul', { 'class': 'list', id: 'lv-integrations' }, integrations.map(function (integ) {
        return h('li', null, h('button', {
          type: 'button', 'class': 'item', 'data-integration': integ.type,
          onclick: function () { selectIntegration(integ, null, false); }
        }, logo(integ), h('span', { 'class': 'name', text: integ.name }), h('span', { 'class': 'chevron', text: '›' })));
      })));
  }

  function selectIntegration(integ, tokenId, preselected) {
    event('integrationSelected', integ);
    if (integ.authKind === 'credentials') { credentials(integ, tokenId, preselected); return; }
    oauthIntro(integ, tokenId, preselected);
  }

  function backButton(fn) { return button(t('back'), fn, 'link', 'lv-back'); }

  // ---- OAuth ----
  function oauthIntro(integ, tokenId, preselected) {
    show(tokenId ? 'reauth' : 'oauth',
      h('div', { 'class': 'hero' }, logo(integ, true),
        h('h1', { text: tokenId ? t('reauthTitle', { name: integ.name }) : t('oauthTitle', { name: integ.name }) }),
        h('p', { 'class': 'muted', text: tokenId ? t('reauthHint', { name: integ.name }) : t('oauthHint', { name: integ.name }) })),
      h('div', { 'class': 'actions' },
        button(tokenId ? t('reconnect') : t('oauthContinue', { name: integ.name }), function () { startOAuth(integ, tokenId); }, '', 'lv-continue'),
        preselected || tokenId ? null : backButton(catalog)));
  }

  var popup = null;
  var pollTimer = null;
  var polling = null;
  function stopPolling() { if (pollTimer) clearTimeout(pollTimer); pollTimer = null; polling = null; }

  function startOAuth(integ, tokenId) {
    var mode = framed && !bridge ? 'popup' : 'redirect';
    if (mode === 'popup') {
      popup = window.open('', 'lv-oauth', 'popup=yes,width=520,height=720');
      if (!popup) { popupBlocked(integ, tokenId); return; }
      try { popup.document.title = integ.name; } catch (e) { /* ignore */ }
    }
    event('integrationOAuthStarted', integ);
    var view = { lng: boot.lang, fiatCur: boot.fiatCur, th: boot.theme, rt: boot.renderType };
    api('POST', '/link/api/oauth/start', { brokerType: integ.type, tokenId: tokenId || '', mode: mode, view: view })
      .then(function (res) {
        if (mode === 'redirect') { window.location.assign(res.authUrl); return; }
        popup.location.href = res.authUrl;
        waiting(integ, tokenId);
      })
      .catch(function (err) {
        if (popup) { try { popup.close(); } catch (e) { /* ignore */ } }
        failure(integ, err, tokenId);
      });
  }

  function popupBlocked(integ, tokenId) {
    show('popup-blocked',
      h('div', { 'class': 'hero' }, logo(integ, true),
        h('h1', { text: t('popupBlocked') }),
        h('p', { 'class': 'muted', text: t('popupBlockedHint') })),
      h('div', { 'class': 'actions' },
        button(t('oauthContinue', { name: integ.name }), function () { startOAuth(integ, tokenId); }, '', 'lv-continue'),
        backButton(catalog)));
  }

  function waiting(integ, tokenId) {
    var seq = show('waiting',
      h('div', { 'class': 'hero' }, logo(integ, true),
        h('h1', { text: t('oauthWaiting', { name: integ.name }) }),
        h('p', { 'class': 'muted', text: t('oauthWaitingHint', { name: integ.name }) }),
        h('div', { 'class': 'spinner' })),
      h('div', { 'class': 'actions' },
        button(t('oauthReopen'), function () { if (popup && !popup.closed) popup.focus(); else startOAuth(integ, tokenId); }, 'secondary', 'lv-reopen'),
        button(t('cancel'), function () { stopPolling(); if (popup) popup.close(); catalog(); }, 'link', 'lv-cancel'))) && screenSeq;
    polling = { integ: integ, tokenId: tokenId, seq: seq };
    schedulePoll(1000);
  }
  function schedulePoll(ms) { if (pollTimer) clearTimeout(pollTimer); pollTimer = setTimeout(pollNow, ms); }
  function pollNow() {
    var p = polling;
    if (!p || p.seq !== screenSeq) return;
    api('GET', '/link/api/oauth/status').then(function (res) {
      if (p !== polling || p.seq !== screenSeq) return;
      if (res.status === 'connected' || res.status === 'failed') {
        stopPolling();
        if (popup) { try { popup.close(); } catch (e) { /* ignore */ } }
        handleOutcome(res.outcome, p.tokenId ? p.integ : null);
      } else {
        schedulePoll(1000);
      }
    }).catch(function (err) {
      stopPolling();
      failure(p.integ, err, p.tokenId);
    });
  }

  function handleOutcome(o, reauthInteg) {
    if (!o || o.status !== 'connected') {
      var integ = reauthInteg || (o && o.payload && byType(o.payload.brokerType)) || null;
      failure(integ, { type: o && o.errorType, display: o && o.message });
      return;
    }
    connected(o.payload, !!o.reauthenticated);
  }

  // ---- credentials ----
  function credentials(integ, tokenId, preselected) {
    var err = h('p', { 'class': 'error', role: 'alert', id: 'lv-error', hidden: true });
    var user = h('input', { type: 'text', name: 'username', id: 'lv-username', autocomplete: 'username', required: true, autofocus: true });
    var pass = h('input', { type: 'password', name: 'password', id: 'lv-password', autocomplete: 'current-password', required: true });
    var submit = h('button', { type: 'submit', 'class': 'button', id: 'lv-submit' }, t('signIn'));
    var form = h('form', {
      novalidate: true,
      onsubmit: function (e) {
        e.preventDefault();
        if (!user.value || !pass.value) { err.textContent = t('err.invalidCredentials'); err.hidden = false; return; }
        submit.disabled = true; err.hidden = true;
        event('credentialsEntered', integ);
        api('POST', '/link/api/credentials', { brokerType: integ.type, username: user.value, password: pass.value, tokenId: tokenId || '' })
          .then(function (res) {
            pass.value = '';
            if (res.mfaRequired) { event('integrationMfaRequired', integ); mfa(integ, tokenId); return; }
            connected(res.payload, !!tokenId);
          })
          .catch(function (e2) {
            submit.disabled = false;
            event('integrationConnectionError', integ, { errorMessage: errorText(e2) });
            err.textContent = errorText(e2); err.hidden = false;
          });
      }
    },
    h('label', null, t('username'), user),
    h('label', null, t('password'), pass),
    err,
    h('div', { 'class': 'actions' }, submit, preselected || tokenId ? null : backButton(catalog)));
    show(tokenId ? 'reauth' : 'credentials',
      h('div', { 'class': 'hero' }, logo(integ, true),
        h('h1', { text: tokenId ? t('reauthTitle', { name: integ.name }) : t('credentialsTitle', { name: integ.name }) }),
        tokenId ? h('p', { 'class': 'muted', text: t('reauthHint', { name: integ.name }) }) : null),
      form);
  }

  function mfa(integ, tokenId) {
    var err = h('p', { 'class': 'error', role: 'alert', id: 'lv-error', hidden: true });
    var code = h('input', { type: 'text', name: 'code', id: 'lv-mfa', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, autofocus: true });
    var submit = h('button', { type: 'submit', 'class': 'button', id: 'lv-submit' }, t('verify'));
    show('mfa',
      h('div', { 'class': 'hero' }, logo(integ, true),
        h('h1', { text: t('mfaTitle') }),
        h('p', { 'class': 'muted', text: t('mfaHint') })),
      h('form', {
        novalidate: true,
        onsubmit: function (e) {
          e.preventDefault();
          submit.disabled = true; err.hidden = true;
          api('POST', '/link/api/mfa', { code: code.value })
            .then(function (res) { connected(res.payload, !!tokenId); })
            .catch(function (e2) {
              event('integrationConnectionError', integ, { errorMessage: errorText(e2) });
              if (e2.type === 'invalidMfaCode') {
                submit.disabled = false; code.value = ''; code.focus();
                err.textContent = errorText(e2); err.hidden = false;
                return;
              }
              failure(integ, e2, tokenId);
            });
        }
      }, h('label', null, t('mfaCode'), code), err, h('div', { 'class': 'actions' }, submit)));
  }

  // ---- connected ----
  function connected(payload, reauthenticated) {
    var integ = byType(payload.brokerType) || { name: payload.brokerName, logoUrl: payload.brokerBrandInfo.brokerLogo, type: payload.brokerType };
    var tokens = payload.accountTokens || [];
    if (tokens.length > 1 && !reauthenticated) { selectAccounts(integ, payload); return; }
    report(payload);
    success(integ, payload, reauthenticated);
  }

  function report(payload) { send({ type: 'brokerageAccountAccessToken', payload: payload }); }

  function selectAccounts(integ, payload) {
    var single = !!(boot.options && boot.options.restrictMultipleAccounts);
    var inputs = [];
    show('select',
      h('h1', { text: single ? t('selectOneTitle') : t('selectTitle') }),
      h('ul', { 'class': 'list' }, payload.accountTokens.map(function (at, i) {
        var input = h('input', { type: single ? 'radio' : 'checkbox', name: 'account', value: String(i), checked: i === 0 || !single });
        inputs.push(input);
        return h('li', null, h('label', { 'class': 'item checkrow' }, input,
          h('span', { 'class': 'name', text: at.account.accountName }),
          h('span', { 'class': 'meta', text: money.format(at.account.fund || 0) })));
      })),
      h('div', { 'class': 'actions' }, button(t('continue'), function () {
        var chosen = payload.accountTokens.filter(function (_, i) { return inputs[i].checked; });
        if (!chosen.length) return;
        var p = Object.assign({}, payload, { accountTokens: chosen });
        report(p);
        success(integ, p, false);
      }, '', 'lv-continue')));
  }

  function success(integ, payload, reauthenticated) {
    show('success',
      h('div', { 'class': 'hero' },
        h('div', { 'class': 'status-icon status-ok', 'aria-hidden': 'true' }),
        h('h1', { text: t('successTitle') }),
        h('p', { 'class': 'muted', text: t(reauthenticated ? 'reconnectedHint' : 'successHint', { name: integ.name }) })),
      h('ul', { 'class': 'list' }, (payload.accountTokens || []).map(function (at) {
        return h('li', { 'class': 'item' }, logo(integ), h('span', { 'class': 'name', text: at.account.accountName }),
          h('span', { 'class': 'meta', text: money.format(at.account.fund || 0) }));
      })),
      h('div', { 'class': 'actions' },
        button(t('done'), function () { done({ page: 'success', brokerType: payload.brokerType }); }, '', 'lv-done')));
  }

  function failure(integ, err, tokenId) {
    if (integ) event('integrationConnectionError', integ, { errorMessage: errorText(err) });
    show('error',
      h('div', { 'class': 'hero' },
        h('div', { 'class': 'status-icon status-error', 'aria-hidden': 'true' }),
        h('h1', { text: t('errorTitle') }),
        h('p', { 'class': 'muted', id: 'lv-error', text: errorText(err) })),
      h('div', { 'class': 'actions' },
        err && err.type === 'linkTokenInvalid' ? null :
          button(t('tryAgain'), function () { if (integ) selectIntegration(integ, tokenId, false); else catalog(); }, '', 'lv-retry'),
        button(t('close'), function () { exit({ errorMessage: errorText(err) }); }, 'secondary', 'lv-exit')));
  }

  // ---- return users ----
  var known = [];
  function returnUser(list) {
    var refs = list.filter(function (x) { return x && typeof x.accessToken === 'string'; })
      .map(function (x) { return { accessToken: x.accessToken, brokerType: x.brokerType || '' }; });
    if (!refs.length) { if (!known.length) home(); return; }
    api('POST', '/link/api/tokens', { accessTokens: refs }).then(function (res) {
      var found = res.connections || [];
      if (!found.length) { if (!known.length) home(); return; }
      known = found;
      var reauth = found.filter(function (k) { return k.status === 'reauthRequired'; })[0];
      if (reauth) { selectIntegration(integrationOf(reauth), reauth.tokenId, false); return; }
      if (found.length === 1) { account(found[0]); return; }
      accounts();
    }).catch(function () { home(); });
  }
  function integrationOf(k) { return byType(k.brokerType) || k.integration; }

  function accounts() {
    show('accounts',
      h('h1', { text: t('title') }),
      h('ul', { 'class': 'list' }, known.map(function (k) {
        var integ = integrationOf(k);
        return h('li', null, h('button', { type: 'button', 'class': 'item', 'data-token': k.brokerType, onclick: function () { account(k); } },
          logo(integ), h('span', { 'class': 'name', text: integ.name }), h('span', { 'class': 'chevron', text: '›' })));
      })),
      h('div', { 'class': 'actions' }, button(t('connectAnother'), catalog, 'secondary', 'lv-another'),
        button(t('done'), function () { done({ page: 'accounts' }); }, '', 'lv-done')));
  }

  var reported = {};
  function account(k) {
    var integ = integrationOf(k);
    var total = (k.payload.accountTokens || []).reduce(function (s, at) { return s + (at.account.fund || 0); }, 0);
    var body = h('div', { id: 'lv-holdings' }, h('div', { 'class': 'spinner' }));
    var canTransfer = boot.permission === 'write' && integ.supportsTransfers;
    var transferButton = canTransfer ? button(t('transfer'), function () { transfer(k, holdings); }, '', 'lv-transfer') : null;
    var holdings = null;
    show('account',
      h('div', { 'class': 'hero' }, logo(integ, true), h('h1', { text: t('accountTitle', { name: integ.name }) })),
      h('div', { 'class': 'summary' }, h('span', { 'class': 'muted', text: t('total') }), h('strong', { id: 'lv-total', text: money.format(total) })),
      h('h2', { text: t('holdings') }),
      body,
      h('div', { 'class': 'actions' }, transferButton,
        button(t('connectAnother'), catalog, 'secondary', 'lv-another'),
        button(t('done'), function () { done({ page: 'account', brokerType: k.brokerType }); }, 'link', 'lv-done')));
    var seq = screenSeq;
    api('POST', '/link/api/holdings', { tokenId: k.tokenId }).then(function (hd) {
      holdings = hd;
      if (!reported[k.tokenId]) { reported[k.tokenId] = true; report(k.payload); }
      if (seq !== screenSeq) return;
      var rows = hd.cryptocurrencyPositions || [];
      body.replaceChildren(rows.length ? h('table', { id: 'lv-positions' },
        h('thead', null, h('tr', null, h('th', { text: t('asset') }), h('th', { 'class': 'num', text: t('amount') }), h('th', { 'class': 'num', text: t('value') }))),
        h('tbody', null, rows.map(function (p) {
          return h('tr', { 'data-symbol': p.symbol }, h('td', { text: p.symbol }), h('td', { 'class': 'num', text: amountFmt.format(p.amount) }),
            h('td', { 'class': 'num', text: money.format(p.marketValue || 0) }));
        }))) : h('p', { 'class': 'muted', text: t('noHoldings') }));
    }).catch(function (err) {
      if (err.type === 'reauthenticationRequired') {
        k.status = 'reauthRequired';
        selectIntegration(integ, k.tokenId, false);
        return;
      }
      // The connection is fine; only the exchange is unreachable right now.
      if (!reported[k.tokenId]) { reported[k.tokenId] = true; report(k.payload); }
      if (seq === screenSeq) body.replaceChildren(h('p', { 'class': 'muted', text: t('holdingsUnavailable') }));
    });
  }

  // ---- transfer ----
  function transfer(k, holdings) {
    var integ = integrationOf(k);
    var err = h('p', { 'class': 'error', role: 'alert', id: 'lv-error', hidden: true });
    var symbols = ((holdings && holdings.cryptocurrencyPositions) || []).map(function (p) { return p.symbol; });
    var symbol = h('select', { id: 'lv-symbol', name: 'symbol' }, symbols.map(function (s) { return h('option', { value: s, text: s }); }));
    var network = h('select', { id: 'lv-network', name: 'network' }, (integ.networks || []).map(function (n) { return h('option', { value: n, text: n }); }));
    var address = h('input', { type: 'text', id: 'lv-address', name: 'address', required: true, autocomplete: 'off', autofocus: true });
    var amount = h('input', { type: 'text', id: 'lv-amount', name: 'amount', inputmode: 'decimal', required: true });
    var submit = h('button', { type: 'submit', 'class': 'button', id: 'lv-submit' }, t('preview'));
    var txID = null;
    show('transfer',
      h('h1', { text: t('transferTitle', { name: integ.name }) }),
      h('form', {
        novalidate: true,
        onsubmit: function (e) {
          e.preventDefault();
          submit.disabled = true; err.hidden = true;
          var req = { tokenId: k.tokenId, symbol: symbol.value, network: network.value, toAddress: address.value, amount: Number(amount.value) };
          api('POST', '/link/api/transfer/preview', req).then(function (pv) {
            txID = pv.clientTransactionId;
            confirmTransfer(k, integ, req, pv, txID);
          }).catch(function (e2) {
            submit.disabled = false;
            err.textContent = e2.type === 'scopeMismatch' ? t('transferNotAllowed') : errorText(e2); err.hidden = false;
          });
        }
      },
      h('label', null, t('symbol'), symbol), h('label', null, t('network'), network),
      h('label', null, t('toAddress'), address), h('label', null, t('amount'), amount), err,
      h('div', { 'class': 'actions' }, submit, backButton(function () { account(k); }))));
  }

  function confirmTransfer(k, integ, req, pv, txID) {
    var err = h('p', { 'class': 'error', role: 'alert', id: 'lv-error', hidden: true });
    var confirm = button(t('confirmTransfer'), function () {
      confirm.disabled = true;
      api('POST', '/link/api/transfer/execute', Object.assign({ previewId: pv.previewId, clientTransactionId: txID }, req)).then(function (res) {
        var payload = { status: 'success', txId: res.transferId, toAddress: res.toAddress, symbol: res.symbol, amount: res.amount, networkName: res.networkName };
        send({ type: 'transferFinished', payload: payload });
        show('transfer-done',
          h('div', { 'class': 'hero' }, h('div', { 'class': 'status-icon status-ok' }), h('h1', { text: t('transferDone') }),
            h('p', { 'class': 'muted', text: amountFmt.format(res.amount) + ' ' + res.symbol })),
          h('div', { 'class': 'actions' }, button(t('done'), function () { done({ page: 'transfer' }); }, '', 'lv-done')));
      }).catch(function (e2) {
        confirm.disabled = false;
        send({ type: 'transferFinished', payload: { status: 'error', errorMessage: errorText(e2) } });
        err.textContent = errorText(e2); err.hidden = false;
      });
    }, '', 'lv-confirm');
    show('transfer-preview',
      h('h1', { text: t('transferTitle', { name: integ.name }) }),
      h('div', { 'class': 'notice' },
        h('div', { 'class': 'kv' }, h('span', { text: t('amount') }), h('strong', { text: amountFmt.format(pv.amount) + ' ' + pv.symbol })),
        h('div', { 'class': 'kv' }, h('span', { text: t('fee') }), h('span', { text: amountFmt.format(pv.estimatedNetworkGasFee) + ' ' + pv.symbol })),
        h('div', { 'class': 'kv' }, h('span', { text: t('total') }), h('strong', { text: amountFmt.format(pv.totalAmount) + ' ' + pv.symbol })),
        h('div', { 'class': 'kv' }, h('span', { text: t('toAddress') }), h('span', { text: pv.toAddress }))),
      err,
      h('div', { 'class': 'actions' }, confirm, backButton(function () { transfer(k, null); })));
  }

  start();
})();
