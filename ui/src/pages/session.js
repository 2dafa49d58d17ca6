// One session: its state and counters, the packet and byte rates over time (sampled
// while the page is open), its files with download links and, where the files API
// reports one, each file's upload state.
import * as api from '../api.js';
import { fill, h } from '../dom.js';
import * as fmt from '../format.js';
import { timeChart } from '../charts.js';
import { deleteSession, dropped, errorBox, every, statusBadge, stopSession, updatedNow } from './common.js';

const REFRESH_MS = 2000;
const HISTORY = 300;  // samples kept: 10 minutes at one every 2 s

export function sessionPage(root, name) {
  const base = `/v1/captures/${api.enc(name)}`;
  const problem = h('div');
  const summary = h('dl', { class: 'summary', id: 'session-summary' });
  const errorsList = h('div');
  const files = h('div', { id: 'session-files' });
  const spec = h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Canonical spec' });
  const updated = h('span', { class: 'muted' });
  const stopButton = h('button', { type: 'button', onclick: () => act(stopSession) }, 'Stop');
  const deleteButton = h('button', { type: 'button', class: 'danger', onclick: () => act(deleteSession, true) }, 'Delete');
  const samples = { t: [], packets: [], bytes: [] };
  let last = null;
  let chart = null;
  const chartBox = h('div', { id: 'session-rates' });

  root.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/sessions' }, 'Sessions'), ' / ', name),
    h('h1', {}, `Session ${name}`),
    h('div', { class: 'toolbar' }, stopButton, deleteButton,
      h('a', { href: `#/sessions/${api.enc(name)}/analysis`, class: 'button' }, 'Analysis'), updated),
    problem,
    h('section', { 'aria-labelledby': 'state-h' }, h('h2', { id: 'state-h' }, 'State and counters'), summary, errorsList),
    h('section', { 'aria-labelledby': 'rates-h' },
      h('h2', { id: 'rates-h' }, 'Counters over time'),
      h('figure', {}, chartBox,
        h('figcaption', {}, 'Packets and bytes written per second, from the counters sampled every 2 s while this page is open.'))),
    h('section', { 'aria-labelledby': 'files-h' }, h('h2', { id: 'files-h' }, 'Files'), files),
    h('details', {}, h('summary', {}, 'Spec (canonical form)'), spec),
  );

  async function act(fn, leave) {
    try {
      if (await fn(name)) {
        if (leave) location.hash = '#/sessions';
        else await refresh();
      }
    } catch (e) {
      fill(problem, errorBox(e));
    }
  }

  function item(label, value, field, title) {
    return [h('dt', {}, label), h('dd', { 'data-field': field, title }, value)];
  }

  function sample(sess) {
    const now = Date.now() / 1000;
    if (last && now > last.t) {
      samples.t.push(now);
      samples.packets.push(Math.max(0, (sess.packets - last.packets) / (now - last.t)));
      samples.bytes.push(Math.max(0, (sess.bytes - last.bytes) / (now - last.t)));
      for (const k of Object.keys(samples)) if (samples[k].length > HISTORY) samples[k].shift();
    }
    last = { t: now, packets: sess.packets, bytes: sess.bytes };
    const data = [samples.t, samples.packets, samples.bytes];
    if (!chart) {
      chart = timeChart({
        title: `Packets and bytes per second written by ${name}`,
        series: [
          { label: 'packets/s', value: (v) => fmt.rate(v, 'pkt'), tick: (v) => fmt.rate(v, 'pkt') },
          { label: 'bytes/s', scale: 'y2', value: (v) => fmt.rate(v, 'B'), tick: (v) => fmt.rate(v, 'B') },
        ],
        data,
      });
      chartBox.append(chart.el);
    } else {
      chart.update(data);
    }
  }

  async function refresh() {
    let sess;
    let list;
    try {
      [sess, list] = await Promise.all([api.get(base), api.get(`${base}/files`)]);
    } catch (e) {
      fill(problem, errorBox(e));
      return;
    }
    fill(problem);
    const d = sess.droppedPackets;
    fill(summary,
      item('Status', statusBadge(sess.status), 'status'),
      item('Stop reason', sess.stopReason || '–', 'stopReason'),
      item('Started', fmt.time(sess.captureStartTime), 'captureStartTime', sess.captureStartTime),
      item('Stopped', fmt.time(sess.captureStopTime), 'captureStopTime', sess.captureStopTime || ''),
      item('Packets', fmt.int(sess.packets), 'packets'),
      item('Bytes', `${fmt.bytes(sess.bytes)} (${fmt.int(sess.bytes)})`, 'bytes'),
      item('Dropped', `${fmt.int(dropped(sess))} (ring full ${fmt.int(d.ringFull)}, write error ${fmt.int(d.writeError)})`, 'dropped'),
      item('Discarded after stop', fmt.int(sess.discardedAfterStop), 'discardedAfterStop'),
      item('Files', fmt.int(sess.files), 'files'),
      item('Current file', sess.currentFile || '–', 'currentFile'),
      item('Dialect', sess.dialect || '–', 'dialect'),
      sess.upload ? item('Upload', uploadSummary(sess.upload), 'upload') : null,
    );
    for (const el of summary.querySelectorAll('[data-field=packets]')) el.dataset.value = String(sess.packets);
    fill(errorsList, sess.errors && sess.errors.length
      ? h('ul', { class: 'errors' }, sess.errors.map((e) => h('li', { class: 'error' }, `${e.code}: ${e.message} (${fmt.time(e.time)})`)))
      : null);
    stopButton.disabled = sess.status !== 'Running';
    spec.textContent = JSON.stringify(sess.spec, null, 2);
    renderFiles(list);
    sample(sess);
    updatedNow(updated);
  }

  let lastFiles = '';
  function renderFiles(list) {
    const json = JSON.stringify(list);
    if (json === lastFiles) return;
    lastFiles = json;
    // Rebuilt on change: keep the keyboard focus on the same file's link.
    const focused = document.activeElement?.closest?.('#files-table tr')?.dataset.file;
    // With storage configured (spec.storage), each closed file has an upload state.
    const withUpload = list.some((f) => f.upload !== undefined && f.upload !== null);
    const head = ['File', 'Bytes', 'Packets', 'First packet', 'Last packet', 'State', ...(withUpload ? ['Upload'] : [])];
    fill(files, h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'files-table' },
      h('caption', {}, `${list.length} file${list.length === 1 ? '' : 's'}`),
      h('thead', {}, h('tr', {}, head.map((t, i) => h('th', { scope: 'col', class: i === 1 || i === 2 ? 'num' : null }, t)))),
      h('tbody', {}, list.length === 0 ? h('tr', {}, h('td', { colspan: head.length }, 'No files yet.')) : list.map((f) => {
        const href = `${base}/files/${api.enc(f.name)}`;
        return h('tr', { 'data-file': f.name },
          h('th', { scope: 'row' }, f.local === false
            ? [f.name, ' ', h('span', { class: 'muted' }, '(deleted here after upload)')]
            : h('a', { href, download: f.name, onclick: (e) => download(e, href, f.name), 'aria-label': `Download ${f.name}` }, f.name)),
          h('td', { class: 'num', 'data-field': 'bytes', 'data-value': f.bytes, title: `${fmt.int(f.bytes)} bytes` }, fmt.bytes(f.bytes)),
          h('td', { class: 'num', 'data-field': 'packets', 'data-value': f.packets }, fmt.int(f.packets)),
          h('td', { title: f.firstTimestamp || '' }, fmt.time(f.firstTimestamp)),
          h('td', { title: f.lastTimestamp || '' }, fmt.time(f.lastTimestamp)),
          h('td', { 'data-field': 'state' }, f.complete ? 'complete' : 'writing'),
          withUpload ? h('td', { 'data-field': 'upload' }, uploadState(f.upload)) : null);
      })))));
    if (focused) files.querySelector(`tr[data-file="${CSS.escape(focused)}"] a`)?.focus();
  }

  const stop = every(REFRESH_MS, refresh);
  return () => {
    stop();
    if (chart) chart.destroy();
  };
}

// A file's upload state from the files API: {state: pending|uploading|uploaded|failed,
// attempts, blob, lastError, uploadedTime, nextAttemptTime}. The blob address is shown
// as text, never as a link: the console only talks to trawld.
function uploadState(u) {
  if (u === undefined || u === null) return '–';
  if (typeof u !== 'object') return String(u);
  const state = String(u.state ?? '');
  const badge = h('span', { class: `badge upload-${state}`, title: u.blob || null }, state || '?');
  const details = [];
  if (u.attempts > 1 || (u.attempts && state !== 'uploaded')) details.push(`${u.attempts} attempt${u.attempts === 1 ? '' : 's'}`);
  if (state === 'uploaded' && u.uploadedTime) details.push(fmt.time(u.uploadedTime));
  if (state !== 'uploaded' && u.nextAttemptTime) details.push(`next try ${fmt.time(u.nextAttemptTime)}`);
  if (u.lastError) details.push(u.lastError);
  return details.length ? [badge, ' ', h('span', { class: 'muted' }, details.join(' · '))] : badge;
}

// The session's upload summary: where to (signature redacted by trawld) and how far.
function uploadSummary(u) {
  const counts = `${fmt.int(u.uploadedFiles)} uploaded, ${fmt.int(u.pendingFiles)} pending, ` +
    `${fmt.int(u.uploadingFiles)} uploading, ${fmt.int(u.failedFiles)} failed`;
  return [counts, u.deleteLocalAfterUpload ? ' (local copies deleted after upload)' : '',
    h('br'), h('span', { class: 'muted' }, u.uploadUrl)];
}

// Without a token the link downloads as any link does. With one, the browser cannot add
// the Authorization header to a link, so the file is fetched and handed over as a blob
// (held in memory: for multi-gigabyte files use `trawlctl download`).
async function download(event, href, fileName) {
  if (!api.token()) return;
  event.preventDefault();
  const res = await fetch(href, { headers: api.authHeaders(), cache: 'no-store' });
  if (!res.ok) return;
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
