// Demo Wallet page: opens Link with the linkvault web SDK, stores connected tokenIds
// through this app's backend, and passes them back into Link on a return visit.
const linkvaultURL = document.body.dataset.linkvault;
const { createLink } = await import(linkvaultURL + '/sdk/link.js');

const $ = (id) => document.getElementById(id);
let connections = [];

function logEvent(type, detail) {
  const li = document.createElement('li');
  li.textContent = type + (detail ? ' ' + detail : '');
  li.dataset.type = type;
  $('events').prepend(li);
}

async function api(method, path, body) {
  const post = method !== 'GET';
  const res = await fetch(path, {
    method, headers: post ? { 'Content-Type': 'application/json' } : {}, body: post ? JSON.stringify(body || {}) : undefined,
  });
  const data = await res.json();
  if (!res.ok) { const e = new Error(data.error || 'request failed'); e.data = data; throw e; }
  return data;
}

async function openLink(accessTokens) {
  const embedded = $('embedded').checked;
  const { linkToken } = await api('POST', '/api/linktoken');
  $('frame-card').hidden = !embedded;
  // ?lng=es&fiat=EUR on this page's URL choose Link's language and display currency.
  const params = new URLSearchParams(window.location.search);
  const link = createLink({
    renderType: embedded ? 'embedded' : 'overlay',
    language: params.get('lng') || undefined,
    displayFiatCurrency: params.get('fiat') || undefined,
    accessTokens,
    onIntegrationConnected: async ({ accessToken: payload }) => {
      if (!payload) return;
      logEvent('integrationConnected', payload.brokerType + ' ' + payload.accountTokens[0].tokenId);
      await api('POST', '/api/connections', payload);
      await refresh();
    },
    onTransferFinished: (p) => logEvent('transferFinished', p.status + ' ' + p.amount + ' ' + p.symbol),
    onExit: (err, summary) => { logEvent('exit', [err, summary && summary.page].filter(Boolean).join(' ')); $('frame-card').hidden = true; refresh(); },
    // integrationConnected and transferCompleted are logged by their own callbacks.
    onEvent: (e) => {
      if (e.type === 'integrationConnected' || e.type === 'transferCompleted') return;
      logEvent(e.type, e.payload && typeof e.payload.errorMessage === 'string' ? e.payload.errorMessage : '');
    },
  });
  link.openLink(linkToken, embedded ? 'link-frame' : undefined);
}

function tokenFor(c) {
  return { accessToken: c.tokenId, brokerType: c.brokerType, brokerName: '', accountId: '', accountName: '' };
}

async function loadHoldings(c, el) {
  try {
    const h = await api('POST', '/api/holdings', { brokerType: c.brokerType });
    const rows = (h.cryptocurrencyPositions || []).map((p) => p.symbol + ' ' + p.amount).join(' · ');
    el.textContent = rows || 'No holdings.';
  } catch (e) {
    if (e.data && e.data.errorType === 'reauthenticationRequired') el.textContent = 'The exchange asks you to sign in again: press Open.';
    else el.textContent = 'Holdings unavailable' + (e.data && e.data.status ? ' (' + e.data.status + ')' : '') + '.';
  }
}

function render() {
  const list = $('connections');
  list.replaceChildren();
  $('empty').hidden = connections.length > 0;
  for (const c of connections) {
    const li = document.createElement('li');
    li.dataset.broker = c.brokerType;
    const head = document.createElement('div'); head.className = 'head';
    const name = document.createElement('strong'); name.textContent = c.brokerName || c.brokerType;
    const open = document.createElement('button'); open.textContent = 'Open'; open.className = 'secondary';
    open.dataset.action = 'open';
    open.onclick = () => openLink([tokenFor(c)]);
    const remove = document.createElement('button'); remove.textContent = 'Disconnect'; remove.className = 'danger';
    remove.dataset.action = 'disconnect';
    remove.onclick = async () => { await api('POST', '/api/disconnect', { brokerType: c.brokerType }); logEvent('disconnected', c.brokerType); refresh(); };
    head.append(name, open, remove);
    const token = document.createElement('div'); token.className = 'token'; token.textContent = 'tokenId ' + c.tokenId;
    token.dataset.tokenId = c.tokenId;
    const holdings = document.createElement('div'); holdings.className = 'holdings'; holdings.textContent = 'Loading holdings…';
    li.append(head, token, holdings);
    list.append(li);
    loadHoldings(c, holdings);
  }
}

async function refresh() {
  connections = (await api('GET', '/api/connections')).connections;
  render();
}

$('connect').onclick = () => openLink([]);
refresh();
