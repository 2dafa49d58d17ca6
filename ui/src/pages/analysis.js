// Analysis of a session's complete files (GET /v1/captures/{name}/analysis, docs/analysis.md):
// protocol and service breakdown, timeline, top talkers, countries (old GeoIP data, and
// the page says so) and a sortable, filterable flow table. Asked with async=true, so a
// large session shows its progress instead of holding a request open.
import * as api from '../api.js';
import { fill, h } from '../dom.js';
import * as fmt from '../format.js';
import { barChart, timeChart } from '../charts.js';
import { errorBox } from './common.js';

const POLL_MS = 400;
const PAGE_ROWS = 100;

export function analysisPage(root, name) {
  const base = `/v1/captures/${api.enc(name)}`;
  let top = 1000;
  let timer = null;
  let chart = null;
  let gone = false;
  let generation = 0;  // a newer load() makes the answers of older ones irrelevant
  const status = h('div', { id: 'analysis-status', role: 'status' });
  const content = h('div', { id: 'analysis' });
  const topSelect = h('select', { id: 'flows-top', onchange: () => { top = Number(topSelect.value); load(); } },
    [['100', '100'], ['1000', '1,000'], ['10000', '10,000'], ['0', 'all']].map(([v, t]) =>
      h('option', { value: v, selected: v === String(top) }, t)));

  root.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/sessions' }, 'Sessions'), ' / ',
      h('a', { href: `#/sessions/${api.enc(name)}` }, name), ' / analysis'),
    h('h1', {}, `Analysis of ${name}`),
    h('div', { class: 'toolbar' },
      h('label', { for: 'flows-top' }, 'Flows and addresses fetched: '), topSelect,
      h('button', { type: 'button', onclick: () => load() }, 'Reload')),
    status,
    content,
  );

  async function load(again = false) {
    clearTimeout(timer);
    const mine = again ? generation : ++generation;
    const progress = h('progress', { max: 1, 'aria-label': 'Analysis progress' });
    fill(status, h('p', {}, 'Analysing the complete files… '), progress);
    try {
      const { status: code, data } = await api.call('GET', `${base}/analysis?async=true&top=${top}`);
      if (gone || mine !== generation) return;
      if (code === 202) {
        progress.value = data.progress?.fraction ?? 0;
        progress.textContent = fmt.percent(progress.value, 1);
        timer = setTimeout(() => load(true), POLL_MS);
        return;
      }
      fill(status);
      render(data);
    } catch (e) {
      if (!gone && mine === generation) fill(status, errorBox(e));
    }
  }

  function render(r) {
    if (chart) chart.destroy();
    chart = null;
    const sm = r.summary;
    const session = r.session || {};
    const being = session.fileBeingWritten
      ? h('p', { class: 'note' }, `The file being written (${session.fileBeingWritten}) is left out until it is closed.`) : null;
    fill(content,
      section('summary-h', 'Summary',
        being,
        h('dl', { class: 'summary', id: 'analysis-summary' },
          dl('Files', fmt.int(sm.files), 'files', sm.files),
          dl('Packets', fmt.int(sm.records), 'records', sm.records),
          dl('Bytes (on the wire)', fmt.bytes(sm.bytes), 'bytes', sm.bytes),
          dl('IP packets', fmt.int(sm.ipPackets), 'ipPackets', sm.ipPackets),
          dl('Non-IP packets', fmt.int(sm.nonIpPackets), 'nonIpPackets', sm.nonIpPackets),
          dl('Flows', fmt.int(sm.flows), 'flows', sm.flows),
          dl('Addresses', fmt.int(sm.addresses), 'addresses', sm.addresses),
          dl('First packet', fmt.time(sm.firstTimestamp), 'firstTimestamp', sm.firstTimestamp),
          dl('Last packet', fmt.time(sm.lastTimestamp), 'lastTimestamp', sm.lastTimestamp),
          dl('Span', fmt.duration(sm.durationSeconds), 'durationSeconds', sm.durationSeconds))),
      breakdown('protocols', 'Protocols', r.protocols.map((p) => ({
        label: p.protocol, number: p.number, packets: p.packets, bytes: p.bytes, flows: p.flows,
      })), sm.bytes, true),
      breakdown('services', 'Services (from well-known ports)', r.services.map((s) => ({
        label: s.service, packets: s.packets, bytes: s.bytes, flows: s.flows,
      })), sm.bytes, false),
      timelineSection(r.timeline),
      talkersSection(r.addresses),
      countriesSection(r.countries),
      flowsSection(r.flows),
      r.warnings && r.warnings.length
        ? section('warnings-h', 'Warnings', h('ul', {}, r.warnings.map((w) => h('li', {}, String(w))))) : null,
    );
  }

  function timelineSection(t) {
    const xs = t.buckets.map((b) => fmt.epochSeconds(b.start));
    const box = h('div', { id: 'timeline-chart' });
    const el = section('timeline-h', 'Timeline',
      h('figure', {}, box, h('figcaption', {}, `Packets and bytes per ${fmt.duration(t.intervalSeconds)} interval (${t.buckets.length} intervals).`)),
      h('details', {}, h('summary', {}, 'Timeline as a table'),
        table('timeline-table', `${t.buckets.length} intervals`, ['Start', 'Packets', 'Bytes'],
          t.buckets.map((b) => [cell(fmt.time(b.start), b.start), num(b.packets), num(b.bytes, fmt.bytes(b.bytes))]))));
    chart = timeChart({
      title: `Timeline of ${name}: packets and bytes per interval`,
      series: [
        { label: 'packets', value: fmt.int, tick: fmt.int },
        { label: 'bytes', scale: 'y2', value: fmt.bytes, tick: fmt.bytes },
      ],
      data: [xs, t.buckets.map((b) => b.packets), t.buckets.map((b) => b.bytes)],
    });
    box.append(chart.el);
    return el;
  }

  load();
  return () => {
    gone = true;
    clearTimeout(timer);
    if (chart) chart.destroy();
  };
}

// ---- building blocks ----------------------------------------------------------------

function section(id, title, ...children) {
  return h('section', { 'aria-labelledby': id, class: 'panel' }, h('h2', { id }, title), ...children);
}

function dl(label, text, field, value) {
  return [h('dt', {}, label), h('dd', { 'data-field': field, 'data-value': value ?? '' }, text)];
}

function cell(text, title) {
  return { text, title };
}

function num(value, text) {
  return { text: text ?? fmt.int(value), value, num: true, title: text ? `${fmt.int(value)}` : undefined };
}

function table(id, caption, head, rows) {
  return h('div', { class: 'scroll' }, h('table', { class: 'data', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => {
      const v = typeof c === 'object' && c !== null ? c : { text: c };
      return h(i === 0 ? 'th' : 'td', {
        scope: i === 0 ? 'row' : null, class: v.num ? 'num' : null, title: v.title,
        'data-value': v.value ?? null,
      }, v.text ?? '');
    }))))));
}

// A bar chart by bytes and the table of the same numbers.
function breakdown(id, title, items, totalBytes, withNumber) {
  const chartItems = items.slice(0, 12).map((i) => ({
    label: i.label, value: i.bytes, text: `${fmt.bytes(i.bytes)} · ${fmt.percent(i.bytes, totalBytes)}`,
  }));
  return section(`${id}-h`, title,
    h('figure', { id: `${id}-chart` }, barChart({ title: `${title} by bytes`, items: chartItems }),
      h('figcaption', {}, items.length > 12 ? `Bytes by ${id === 'protocols' ? 'protocol' : 'service'}: the 12 largest of ${items.length}.`
        : `Bytes by ${id === 'protocols' ? 'protocol' : 'service'}.`)),
    table(`${id}-table`, `${items.length} ${id}`,
      [id === 'protocols' ? 'Protocol' : 'Service', ...(withNumber ? ['Number'] : []), 'Packets', 'Bytes', 'Share', 'Flows'],
      items.map((i) => [i.label, ...(withNumber ? [i.number ?? '–'] : []), num(i.packets), num(i.bytes, fmt.bytes(i.bytes)),
        fmt.percent(i.bytes, totalBytes), num(i.flows)])));
}

function talkersSection(a) {
  return section('talkers-h', 'Top talkers',
    table('talkers-table', `Top ${fmt.int(a.shown)} of ${fmt.int(a.total)} addresses by bytes sent and received`,
      ['Address', 'Country', 'Sent', 'Received', 'Packets sent', 'Packets received', 'Flows', 'Peers'],
      a.items.slice(0, 25).map((x) => [x.address, cell(x.country, x.countryName), num(x.bytesSent, fmt.bytes(x.bytesSent)),
        num(x.bytesReceived, fmt.bytes(x.bytesReceived)), num(x.packetsSent), num(x.packetsReceived), num(x.flows), num(x.peers)])));
}

function countriesSection(c) {
  return section('countries-h', 'Countries',
    h('p', { class: 'note', role: 'note', id: 'geoip-note' }, `Country data is old: ${c.geoip.note.replace(/^country data is old: /, '')}`),
    table('countries-table', `${c.items.length} countries and ranges`,
      ['Country', 'Name', 'Addresses', 'Sent', 'Received', 'Packets sent', 'Packets received'],
      c.items.map((x) => [x.country, x.name, num(x.addresses), num(x.bytesSent, fmt.bytes(x.bytesSent)),
        num(x.bytesReceived, fmt.bytes(x.bytesReceived)), num(x.packetsSent), num(x.packetsReceived)])));
}

// ---- the flow table ------------------------------------------------------------------

export const FLOW_COLUMNS = [
  { key: 'protocol', label: 'Protocol', text: (f) => f.protocol ?? '–' },
  { key: 'service', label: 'Service', text: (f) => f.service },
  { key: 'client', label: 'Client', text: (f) => f.client },
  { key: 'clientPort', label: 'Client port', num: true, text: (f) => f.clientPort ?? '' },
  { key: 'server', label: 'Server', text: (f) => f.server },
  { key: 'serverPort', label: 'Server port', num: true, text: (f) => f.serverPort ?? '' },
  { key: 'packets', label: 'Packets', num: true, text: (f) => fmt.int(f.packets) },
  { key: 'bytes', label: 'Bytes', num: true, text: (f) => fmt.bytes(f.bytes) },
  { key: 'clientBytes', label: 'Client → server', num: true, text: (f) => fmt.bytes(f.clientBytes) },
  { key: 'serverBytes', label: 'Server → client', num: true, text: (f) => fmt.bytes(f.serverBytes) },
  { key: 'durationSeconds', label: 'Duration', num: true, text: (f) => fmt.duration(f.durationSeconds) },
  { key: 'tcpFlags', label: 'TCP flags', text: (f) => fmt.tcpFlags(f.tcpFlags) },
  { key: 'countries', label: 'Countries', text: (f) => `${f.clientCountry ?? '?'} → ${f.serverCountry ?? '?'}` },
];

// The text a flow is filtered on: every column as shown, plus "addr:port" pairs.
export function flowHaystack(f) {
  return [...FLOW_COLUMNS.map((c) => String(c.text(f))), `${f.client}:${f.clientPort ?? ''}`, `${f.server}:${f.serverPort ?? ''}`]
    .join(' ').toLowerCase();
}

function sortValue(f, key) {
  if (key === 'countries') return `${f.clientCountry ?? ''} ${f.serverCountry ?? ''}`;
  if (key === 'tcpFlags') return fmt.tcpFlags(f.tcpFlags);
  return f[key];
}

export function compareFlows(a, b, key) {
  const x = sortValue(a, key);
  const y = sortValue(b, key);
  if (x === y) return 0;
  if (x === null || x === undefined || x === '') return 1;  // absent values last, either way
  if (y === null || y === undefined || y === '') return -1;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  return String(x).localeCompare(String(y), 'en', { numeric: true });
}

function flowsSection(flows) {
  const items = flows.items.map((f, i) => ({ ...f, index: i, haystack: flowHaystack(f) }));
  let sortKey = 'bytes';
  let descending = true;
  let filter = '';
  let limit = PAGE_ROWS;
  const caption = h('caption', { id: 'flows-caption' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', onclick: () => { limit += PAGE_ROWS; draw(); } });
  const headers = FLOW_COLUMNS.map((c) => {
    const th = h('th', { scope: 'col', class: c.num ? 'num' : null, 'data-col': c.key },
      h('button', { type: 'button', class: 'sort', onclick: () => sortBy(c.key) }, c.label));
    return th;
  });
  const filterInput = h('input', {
    id: 'flows-filter', type: 'search', placeholder: 'address, port, service, country…', autocomplete: 'off',
    'aria-controls': 'flows-table', 'aria-describedby': 'flows-caption',
    oninput: () => { filter = filterInput.value.trim().toLowerCase(); limit = PAGE_ROWS; draw(); },
  });

  function sortBy(key) {
    if (key === sortKey) descending = !descending;
    else {
      sortKey = key;
      descending = FLOW_COLUMNS.find((c) => c.key === key).num;  // numbers: largest first
    }
    draw();
  }

  function draw() {
    const matching = items.filter((f) => !filter || f.haystack.includes(filter));
    matching.sort((a, b) => {
      const c = compareFlows(a, b, sortKey);
      const absent = (v) => v === null || v === undefined || v === '';
      if (c !== 0) return descending && !absent(sortValue(a, sortKey)) && !absent(sortValue(b, sortKey)) ? -c : c;
      return a.index - b.index;
    });
    for (const th of headers) {
      if (th.dataset.col === sortKey) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
    caption.textContent = `${fmt.int(Math.min(limit, matching.length))} of ${fmt.int(matching.length)} flows shown` +
      (filter ? ` matching "${filter}"` : '') + ` (${fmt.int(items.length)} fetched of ${fmt.int(flows.total)})` +
      `, sorted by ${FLOW_COLUMNS.find((c) => c.key === sortKey).label.toLowerCase()} ${descending ? 'descending' : 'ascending'}`;
    caption.dataset.matching = String(matching.length);
    caption.dataset.fetched = String(items.length);
    caption.dataset.total = String(flows.total);
    fill(tbody, matching.slice(0, limit).map((f) => h('tr', { 'data-index': f.index },
      FLOW_COLUMNS.map((c) => h('td', { class: c.num ? 'num' : null, 'data-col': c.key, 'data-value': c.num ? f[c.key] ?? '' : null }, c.text(f))))));
    more.hidden = matching.length <= limit;
    more.textContent = `Show ${Math.min(PAGE_ROWS, matching.length - limit)} more`;
  }

  draw();
  return section('flows-h', 'Flows',
    h('p', { class: 'hint' }, 'Bidirectional 5-tuple flows; the client sent the first packet. Click a column heading to sort.'),
    h('div', { class: 'toolbar' }, h('label', { for: 'flows-filter' }, 'Filter flows: '), filterInput),
    h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'flows-table' }, caption,
      h('thead', {}, h('tr', {}, headers)), tbody)),
    more);
}
