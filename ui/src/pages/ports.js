// The ports: GET /v1/ports every second, with receive rates computed from successive
// samples, and the counters that mean packets were lost before trawl saw them
// (missed: the NIC's queue was full; no mbuf: the mempool was empty).
import * as api from '../api.js';
import { fill, h } from '../dom.js';
import * as fmt from '../format.js';
import { timeChart } from '../charts.js';
import { errorBox, every, updatedNow } from './common.js';

const REFRESH_MS = 1000;
const HISTORY = 300;

export function portsPage(root) {
  const problem = h('div');
  const tableBox = h('div', { id: 'ports-box' });
  const chartBox = h('div', { id: 'ports-chart' });
  const updated = h('span', { class: 'muted' });
  let previous = null;
  let chart = null;
  let chartPorts = '';
  const history = { t: [], rates: {} };

  root.append(
    h('h1', {}, 'Ports'),
    h('div', { class: 'toolbar' }, updated),
    problem,
    tableBox,
    h('section', { 'aria-labelledby': 'port-rates-h' },
      h('h2', { id: 'port-rates-h' }, 'Receive rate'),
      h('figure', {}, chartBox, h('figcaption', {}, 'Packets received per second by each port, sampled every second while this page is open.'))),
    h('p', { class: 'hint' }, 'Missed: dropped by the NIC because its receive queue was full (the workers did not keep up). ' +
      'No mbuf: no buffer to receive into. Both happen before trawl sees the packet; see docs/operations.md.'),
  );

  async function refresh() {
    let ports;
    try {
      ports = await api.get('/v1/ports');
    } catch (e) {
      fill(problem, errorBox(e));
      return;
    }
    fill(problem);
    const now = Date.now() / 1000;
    const rates = {};
    for (const p of ports) {
      const before = previous && previous.ports.find((q) => q.name === p.name);
      const dt = previous ? now - previous.t : 0;
      rates[p.name] = before && dt > 0
        ? { pps: Math.max(0, (p.rxPackets - before.rxPackets) / dt), bps: Math.max(0, (8 * (p.rxBytes - before.rxBytes)) / dt) }
        : null;
    }
    previous = { t: now, ports };

    fill(tableBox, h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'ports-table' },
      h('caption', {}, `${ports.length} port${ports.length === 1 ? '' : 's'}`),
      h('thead', {}, h('tr', {}, ['Port', 'RX packets', 'RX bytes', 'RX rate', 'RX bit rate', 'Missed', 'No mbuf', 'Errors']
        .map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t)))),
      h('tbody', {}, ports.map((p) => {
        const r = rates[p.name];
        return h('tr', { 'data-port': p.name },
          h('th', { scope: 'row' }, p.name),
          h('td', { class: 'num', 'data-field': 'rxPackets', 'data-value': p.rxPackets }, fmt.int(p.rxPackets)),
          h('td', { class: 'num', 'data-field': 'rxBytes', 'data-value': p.rxBytes, title: `${fmt.int(p.rxBytes)} bytes` }, fmt.bytes(p.rxBytes)),
          h('td', { class: 'num', 'data-field': 'rxRate', 'data-value': r ? r.pps : '' }, r ? fmt.rate(r.pps, 'pkt') : '…'),
          h('td', { class: 'num', 'data-field': 'rxBitRate', 'data-value': r ? r.bps : '' }, r ? fmt.rate(r.bps, 'bit') : '…'),
          h('td', { class: `num${p.rxMissed ? ' warn' : ''}`, 'data-field': 'rxMissed', 'data-value': p.rxMissed }, fmt.int(p.rxMissed)),
          h('td', { class: `num${p.rxNoMbuf ? ' warn' : ''}`, 'data-field': 'rxNoMbuf', 'data-value': p.rxNoMbuf }, fmt.int(p.rxNoMbuf)),
          h('td', { class: `num${p.rxErrors ? ' warn' : ''}`, 'data-field': 'rxErrors', 'data-value': p.rxErrors }, fmt.int(p.rxErrors)));
      })))));

    if (Object.values(rates).some((r) => r)) {
      history.t.push(now);
      for (const p of ports) (history.rates[p.name] ||= []).push(rates[p.name] ? rates[p.name].pps : null);
      if (history.t.length > HISTORY) {
        history.t.shift();
        for (const k of Object.keys(history.rates)) history.rates[k].shift();
      }
      const names = ports.map((p) => p.name);
      const data = [history.t, ...names.map((n) => history.rates[n] || [])];
      if (!chart || chartPorts !== names.join()) {
        if (chart) chart.destroy();
        chartPorts = names.join();
        chart = timeChart({
          title: 'Packets received per second by port',
          series: names.map((n) => ({ label: n, value: (v) => fmt.rate(v, 'pkt'), tick: (v) => fmt.rate(v, 'pkt') })),
          data,
        });
        fill(chartBox, chart.el);
      } else {
        chart.update(data);
      }
    }
    updatedNow(updated);
  }

  const stop = every(REFRESH_MS, refresh);
  return () => {
    stop();
    if (chart) chart.destroy();
  };
}
