// Entry point of the message pages (expired link, errors): the minimal Link protocol,
// so the app still learns that Link loaded and can close it. The session summary
// names the error page (Flutter's SDK needs a page on close).

import { hosted, framed, bridge, send, on } from './lib/channel.js';

const section = document.getElementById('lv-message');
const text = section ? section.getAttribute('data-error') || '' : '';

function close() {
  send({ type: 'close', payload: { page: 'errorPage', errorMessage: text } });
}

on('closeRequested', close);
const button = document.getElementById('lv-exit');
if (button && hosted) {
  button.hidden = false;
  button.addEventListener('click', close);
}
// In the web SDK's overlay Link is a modal dialog: Escape closes it, as on the Link
// page (in embedded mode the app decides when Link closes).
if (framed && !bridge && new URLSearchParams(window.location.search).get('rt') !== 'embedded') {
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    close();
  });
}
send({ type: 'loaded' });
