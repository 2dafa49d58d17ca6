// The sessions page: every session with its live counters (refreshed every 2 s), stop
// and delete with confirmation, and the form that creates one. The form builds the
// canonical spec (DESIGN §2.1/2.2) and leaves validation to trawld: a 400 names the
// field in `target` ("filters[0].destinationPorts[0]"), shown next to that input.
import * as api from '../api.js';
import { announce, fill, h } from '../dom.js';
import * as fmt from '../format.js';
import { deleteSession, dropped, errorBox, every, statusBadge, stopSession, updatedNow } from './common.js';

const REFRESH_MS = 2000;

const COLUMNS = [
  ['name', 'Name'], ['status', 'Status'], ['stopReason', 'Stop reason'], ['packets', 'Packets', 'num'],
  ['bytes', 'Bytes', 'num'], ['dropped', 'Dropped', 'num'], ['files', 'Files', 'num'], ['started', 'Started'],
  ['actions', 'Actions'],
];

export function sessionsPage(root) {
  const auto = h('input', { type: 'checkbox', id: 'auto-refresh', checked: true });
  const updated = h('span', { class: 'muted', id: 'sessions-updated' });
  const problem = h('div', { id: 'sessions-problem' });
  const tbody = h('tbody');
  const caption = h('caption', {}, 'Sessions');
  const table = h('table', { id: 'sessions-table', class: 'data' }, caption,
    h('thead', {}, h('tr', {}, COLUMNS.map(([key, label, cls]) => h('th', { scope: 'col', class: cls, 'data-col': key }, label)))),
    tbody);
  const rows = new Map();

  root.append(
    h('h1', {}, 'Capture sessions'),
    h('div', { class: 'toolbar' },
      h('label', { for: 'auto-refresh' }, auto, ` Refresh every ${REFRESH_MS / 1000} s`), updated,
      h('button', { type: 'button', onclick: () => refresh() }, 'Refresh now')),
    problem,
    h('div', { class: 'scroll' }, table),
    createForm(() => refresh()),
  );

  async function act(fn, name) {
    try {
      if (await fn(name)) await refresh();
    } catch (e) {
      fill(problem, errorBox(e));
    }
  }

  function rowFor(name) {
    if (rows.has(name)) return rows.get(name);
    const cells = {};
    const tr = h('tr', { 'data-session': name });
    for (const [key, , cls] of COLUMNS) {
      cells[key] = h(key === 'name' ? 'th' : 'td', { class: cls, 'data-field': key, ...(key === 'name' ? { scope: 'row' } : {}) });
      tr.append(cells[key]);
    }
    cells.name.append(h('a', { href: `#/sessions/${api.enc(name)}` }, name));
    const stop = h('button', { type: 'button', class: 'small', 'aria-label': `Stop ${name}`, onclick: () => act(stopSession, name) }, 'Stop');
    const del = h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${name}`, onclick: () => act(deleteSession, name) }, 'Delete');
    cells.actions.append(h('a', { href: `#/sessions/${api.enc(name)}/analysis`, class: 'small', 'aria-label': `Analysis of ${name}` }, 'Analysis'), ' ', stop, ' ', del);
    const row = { tr, cells, stop };
    rows.set(name, row);
    return row;
  }

  function setNumber(cell, value, text) {
    cell.dataset.value = String(value);
    cell.textContent = text ?? fmt.int(value);
  }

  async function refresh() {
    let list;
    try {
      list = await api.get('/v1/captures');
    } catch (e) {
      fill(problem, errorBox(e));
      return;
    }
    fill(problem);
    const seen = new Set();
    list.forEach((sess, i) => {
      seen.add(sess.name);
      const { tr, cells, stop } = rowFor(sess.name);
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
      if (cells.status.dataset.value !== sess.status) {
        fill(cells.status, statusBadge(sess.status));
        cells.status.dataset.value = sess.status;
      }
      cells.stopReason.textContent = sess.stopReason || '–';
      setNumber(cells.packets, sess.packets);
      setNumber(cells.bytes, sess.bytes, fmt.bytes(sess.bytes));
      cells.bytes.title = `${fmt.int(sess.bytes)} bytes`;
      setNumber(cells.dropped, dropped(sess));
      cells.dropped.title = `ring full ${fmt.int(sess.droppedPackets.ringFull)}, write error ${fmt.int(sess.droppedPackets.writeError)}`;
      setNumber(cells.files, sess.files);
      cells.started.textContent = fmt.time(sess.captureStartTime);
      cells.started.title = sess.captureStartTime || '';
      stop.disabled = sess.status !== 'Running';
    });
    for (const [name, row] of rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    if (list.length === 0) {
      if (!tbody.querySelector('.empty')) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS.length }, 'No sessions yet: create one below.')));
    } else {
      tbody.querySelector('.empty')?.remove();
    }
    caption.textContent = `Sessions (${list.length})`;
    updatedNow(updated);
  }

  return every(REFRESH_MS, refresh, () => auto.checked);
}

// ---- The create form ---------------------------------------------------------------

const PROTOCOLS = ['tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'esp', 'ah', 'gre'];
const LIST_FIELDS = [
  ['sourceSubnets', 'Source subnets', 'CIDR, address or a-b range; separate with commas or spaces', '10.1.0.0/24, 2001:db8::/32'],
  ['destinationSubnets', 'Destination subnets', 'CIDR, address or a-b range', '93.184.216.34'],
  ['sourcePorts', 'Source ports', 'ports or a-b ranges', '1024-65535'],
  ['destinationPorts', 'Destination ports', 'ports or a-b ranges', '80, 443, 8000-8080'],
];
const LIMIT_FIELDS = [
  ['bytesToCapturePerPacket', 'Bytes per packet (snap length)', '0 = whole packet'],
  ['maxPackets', 'Packet limit', '0 = no limit'],
  ['totalBytesPerSession', 'Byte limit', 'sum of captured bytes; 0 = no limit'],
  ['timeLimitInSeconds', 'Time limit (s)', '0 = no limit'],
  ['fileSizeInBytes', 'File size (bytes)', 'rotate before a file grows past this; 0 = one file'],
  ['fileCount', 'File count', 'ring buffer: keep this many files; 0 = keep all'],
];

function splitList(text) {
  return text.split(/[\s,;]+/).filter(Boolean);
}

// A number when it is one; otherwise the text as typed, so trawld's message names it.
function numberOrText(text) {
  return /^\d+$/.test(text) ? Number(text) : text;
}

// The form → the canonical body of PUT /v1/captures/{name}.
export function buildBody(values) {
  const filter = {
    sourceSubnets: splitList(values.sourceSubnets || ''),
    destinationSubnets: splitList(values.destinationSubnets || ''),
    sourcePorts: splitList(values.sourcePorts || ''),
    destinationPorts: splitList(values.destinationPorts || ''),
    protocols: [...(values.protocols || []), ...splitList(values.protocolsOther || '').map(numberOrText)],
    tcpFlags: values.tcpFlags || 0,
    bidirectional: values.bidirectional !== false,
  };
  const constrained = filter.sourceSubnets.length || filter.destinationSubnets.length || filter.sourcePorts.length ||
    filter.destinationPorts.length || filter.protocols.length || filter.tcpFlags;
  const body = { filters: constrained ? [filter] : [] };
  for (const [key] of LIMIT_FIELDS) {
    const v = (values[key] || '').trim();
    if (v !== '') body[key] = numberOrText(v);
  }
  if (values.format) body.format = values.format;
  return body;
}

// "filters[0].destinationPorts[1]" → "destinationPorts"; "maxPackets" → "maxPackets".
export function fieldOfTarget(target) {
  const m = /^filters\[\d+\]\.([A-Za-z]+)/.exec(target || '') || /^([A-Za-z]+)/.exec(target || '');
  return m ? m[1] : null;
}

function createForm(onCreated) {
  const errors = h('div', { id: 'form-errors', class: 'form-errors', tabindex: '-1' });
  const result = h('div', { id: 'create-result', role: 'status' });
  const preview = h('pre', { id: 'body-preview', class: 'json', tabindex: '0', 'aria-label': 'Request body' });
  const fieldErrors = {};

  function errorSlot(key) {
    fieldErrors[key] = h('p', { class: 'field-error', id: `err-${key}`, hidden: true });
    return fieldErrors[key];
  }

  function textField(key, label, hint, placeholder, extra = {}) {
    const id = `f-${key}`;
    return h('div', { class: 'field' },
      h('label', { for: id }, label),
      h('input', { id, name: key, type: 'text', placeholder, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `hint-${key} err-${key}`, ...extra }),
      h('span', { class: 'hint', id: `hint-${key}` }, hint),
      errorSlot(key));
  }

  const protocolBoxes = PROTOCOLS.map((p) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'protocols', value: p }), ` ${p}`));
  const flagBoxes = fmt.FLAG_NAMES.map((f, i) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'tcpFlags', value: String(1 << i) }), ` ${f}`));

  const form = h('form', { id: 'create-form', novalidate: true, 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'New session'),
    errors,
    h('fieldset', {},
      h('legend', {}, 'Session'),
      h('div', { class: 'grid' },
        textField('name', 'Name', '1–80 of A–Z a–z 0–9 . _ -', 'web', { required: true }),
        h('div', { class: 'field' },
          h('label', { for: 'f-format' }, 'File format'),
          h('select', { id: 'f-format', name: 'format', 'aria-describedby': 'err-format' },
            h('option', { value: 'pcap' }, 'pcap'), h('option', { value: 'pcapng' }, 'pcapng')),
          errorSlot('format')))),
    h('fieldset', {},
      h('legend', {}, 'Filter'),
      h('p', { class: 'hint' }, 'A packet is captured when it matches every field you fill in. Leave everything empty to capture every packet.'),
      h('div', { class: 'grid' }, LIST_FIELDS.map(([k, l, hint, ph]) => textField(k, l, hint, ph))),
      h('fieldset', { class: 'inline', id: 'f-protocols', 'aria-describedby': 'err-protocols' },
        h('legend', {}, 'Protocols'), protocolBoxes,
        h('label', { for: 'f-protocolsOther', class: 'check' }, 'other (numbers):'),
        h('input', { id: 'f-protocolsOther', name: 'protocolsOther', type: 'text', size: 8, placeholder: '47', 'aria-describedby': 'err-protocols' }),
        errorSlot('protocols')),
      h('fieldset', { class: 'inline', id: 'f-tcpFlags', 'aria-describedby': 'err-tcpFlags' },
        h('legend', {}, 'TCP flags (any of)'), flagBoxes, errorSlot('tcpFlags')),
      h('label', { class: 'check' },
        h('input', { type: 'checkbox', id: 'f-bidirectional', name: 'bidirectional', checked: true }),
        ' Both directions (also match with source and destination swapped)'),
      errorSlot('bidirectional')),
    h('fieldset', {},
      h('legend', {}, 'Limits'),
      h('p', { class: 'hint' }, 'Empty fields take the defaults of the configuration (capture.defaults).'),
      h('div', { class: 'grid' }, LIMIT_FIELDS.map(([k, l, hint]) => textField(k, l, hint, 'default', { inputmode: 'numeric' })))),
    h('details', {}, h('summary', {}, 'Request body'), preview),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Create and start')),
    result,
  );

  function values() {
    const data = new FormData(form);
    const v = Object.fromEntries([...data.entries()].filter(([k]) => k !== 'protocols' && k !== 'tcpFlags'));
    v.protocols = data.getAll('protocols');
    v.tcpFlags = data.getAll('tcpFlags').reduce((m, x) => m | Number(x), 0);
    v.bidirectional = form.querySelector('#f-bidirectional').checked;
    return v;
  }

  function clearErrors() {
    fill(errors);
    for (const [key, el] of Object.entries(fieldErrors)) {
      el.hidden = true;
      el.textContent = '';
      const input = form.querySelector(`#f-${key}`);
      if (input) input.removeAttribute('aria-invalid');
    }
  }

  function showError(key, message, target) {
    const known = key && fieldErrors[key];
    const text = target ? `${target}: ${message}` : message;
    if (known) {
      known.hidden = false;
      known.textContent = text;
      const input = form.querySelector(`#f-${key}`);
      if (input) input.setAttribute('aria-invalid', 'true');
    }
    const focusTarget = known ? form.querySelector(`#f-${key}`) : null;
    fill(errors, h('div', { role: 'alert', class: 'error' },
      h('strong', {}, 'The session was not created. '),
      known ? h('a', { href: `#f-${key}`, onclick: (e) => { e.preventDefault(); focusTarget?.focus(); } }, text) : text));
    return focusTarget;
  }

  const updatePreview = () => {
    preview.textContent = JSON.stringify(buildBody(values()), null, 2);
  };
  form.addEventListener('input', updatePreview);
  form.addEventListener('change', updatePreview);
  updatePreview();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    fill(result);
    const v = values();
    const name = (v.name || '').trim();
    if (!name) {
      (showError('name', 'a session needs a name', 'name') || errors).focus();
      return;
    }
    const body = buildBody(v);
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const { data } = await api.call('PUT', `/v1/captures/${api.enc(name)}`, body);
      const note = data.status === 'Error'
        ? ` but could not start: ${(data.errors || []).map((e) => e.message).join('; ')}` : '';
      fill(result, h('p', { class: data.status === 'Error' ? 'error' : 'ok' },
        `Session ${name} created (${data.status})${note}. `, h('a', { href: `#/sessions/${api.enc(name)}` }, 'Open it')));
      announce(`Session ${name} created`);
      form.querySelector('#f-name').value = '';
      updatePreview();
      onCreated();
    } catch (e) {
      const key = e.target === 'name' ? 'name' : fieldOfTarget(e.target);
      const focus = showError(key, e.message, e.target);
      (focus || errors).focus();
    } finally {
      submit.disabled = false;
    }
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'create-title' }, form);
}
