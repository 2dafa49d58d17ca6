// The trawl console: a single page whose routes live in the URL fragment
// (#/sessions, #/sessions/NAME, #/sessions/NAME/analysis, #/ports), so trawld serves
// one index.html and the page talks to the public REST API only.
import './style.css';
import * as api from './api.js';
import { fill, h } from './dom.js';
import { sessionsPage } from './pages/sessions.js';
import { sessionPage } from './pages/session.js';
import { analysisPage } from './pages/analysis.js';
import { portsPage } from './pages/ports.js';

const main = document.getElementById('main');
let leave = null;  // the current page's clean-up (timers, charts)
let firstRender = true;

function route() {
  const path = (location.hash || '#/sessions').slice(1);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'sessions' && parts.length === 1) return { nav: 'sessions', page: sessionsPage, args: [] };
  if (parts[0] === 'sessions' && parts.length === 2) return { nav: 'sessions', page: sessionPage, args: [parts[1]] };
  if (parts[0] === 'sessions' && parts.length === 3 && parts[2] === 'analysis')
    return { nav: 'sessions', page: analysisPage, args: [parts[1]] };
  if (parts[0] === 'ports' && parts.length === 1) return { nav: 'ports', page: portsPage, args: [] };
  return null;
}

async function render() {
  if (leave) {
    leave();
    leave = null;
  }
  const r = route();
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (r && a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!r) {
    fill(main, h('h1', { tabindex: '-1' }, 'Not found'),
      h('p', {}, 'No page here. ', h('a', { href: '#/sessions' }, 'Go to the sessions.')));
    document.title = 'Not found · trawl console';
    return;
  }
  const container = h('div', { class: 'page' });
  fill(main, container);
  leave = r.page(container, ...r.args) || null;
  // Move the focus to the new page's heading, as a page load would, so keyboard and
  // screen-reader users start at the top of what changed (not on the first load: the
  // browser starts at the top by itself).
  const heading = container.querySelector('h1');
  if (heading && !firstRender && !document.querySelector('dialog[open]')) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  firstRender = false;
  if (heading) document.title = `${heading.textContent} · trawl console`;
}

// The token dialog: shown only when trawld answers 401 (a token file is configured).
api.setTokenPrompt((message) => new Promise((resolve) => {
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  error.hidden = !message;
  error.textContent = message || '';
  input.value = '';
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  const onSubmit = (event) => {
    const value = input.value.trim();
    if (!value) {
      event.preventDefault();
      return;
    }
    form.removeEventListener('submit', onSubmit);
    updateTokenButton(true);
    resolve(value);
  };
  form.addEventListener('submit', onSubmit);
  if (!dialog.open) dialog.showModal();
  input.focus();
}));

// Escape would leave the page without data: the token dialog stays open.
document.getElementById('token-dialog').addEventListener('cancel', (e) => e.preventDefault());

function updateTokenButton(present) {
  document.getElementById('forget-token').hidden = !present;
}

document.getElementById('forget-token').addEventListener('click', () => {
  api.forgetToken();
  updateTokenButton(false);
  render();
});

updateTokenButton(api.token() !== null);
window.addEventListener('hashchange', render);
if (!location.hash) history.replaceState(null, '', '#/sessions');
render();
