// A tiny element builder: h('td', {class: 'num'}, text). No framework: the console is a
// handful of tables and forms, rebuilt from the API's JSON on every refresh.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

function setAttributes(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// Replaces the children of `el`.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Politely tells screen readers what changed (created, stopped, deleted ...).
export function announce(message) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = message; }, 50);
}

// The shared confirmation dialog (index.html). Resolves {ok, checked}.
export function confirmAction({ title, message, confirm, option }) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-message').textContent = message;
  document.getElementById('confirm-ok').textContent = confirm;
  const optionRow = document.getElementById('confirm-option');
  const check = document.getElementById('confirm-check');
  optionRow.hidden = !option;
  check.checked = false;
  if (option) document.getElementById('confirm-check-label').textContent = option;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve({ ok: dialog.returnValue === 'ok', checked: check.checked }),
      { once: true });
    dialog.showModal();
    // Destructive actions: the safe answer has the focus.
    document.getElementById('confirm-cancel').focus();
  });
}
