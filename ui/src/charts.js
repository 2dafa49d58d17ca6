// Charts: uPlot (small, canvas) for time series; a plain SVG bar chart for breakdowns,
// which needs no library and carries its numbers as text. Every chart sits in a
// <figure> next to a table of the same numbers, so nothing is only in pixels.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { s, h } from './dom.js';
import * as fmt from './format.js';

const zeroBased = (u, min, max) => [0, max > 0 ? max * 1.1 : 1];

const COLORS = ['#0b6e99', '#d9730d', '#448361', '#9065b0', '#c4554d', '#337ea9', '#cb912f', '#6b6b6b'];

// A time-series chart. `series`: [{label, scale ('y' | 'y2'), value: (v) => text}];
// data: [xs (seconds), ys1, ys2, ...]. Returns {el, update(data), destroy()}.
export function timeChart({ title, series, data, height = 220, yLabel, y2Label }) {
  const el = h('div', { class: 'chart', role: 'img', 'aria-label': title });
  const opts = {
    title: '',
    width: 600,
    height,
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    // Rates and counts start at 0, so a flat line never looks like a swing.
    scales: { x: { time: true }, y: { range: zeroBased }, y2: { range: zeroBased } },
    // Times in UTC, as the API gives them (not the browser's zone).
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    series: [
      { label: 'time (UTC)', value: (u, v) => (v == null ? '–' : new Date(v * 1000).toISOString().replace('T', ' ').replace('Z', '')) },
      ...series.map((sr, i) => ({
        label: sr.label,
        scale: sr.scale || 'y',
        stroke: COLORS[i % COLORS.length],
        fill: i === 0 ? 'rgba(11,110,153,0.08)' : undefined,
        width: 1.5,
        points: { show: data[0] && data[0].length < 60 },
        value: (u, v) => (v == null ? '–' : sr.value(v)),
      })),
    ],
    axes: [
      { space: 70 },
      { scale: 'y', label: yLabel, size: 100, values: (u, vals) => vals.map((v) => series[0].tick ? series[0].tick(v) : fmt.int(v)) },
      ...(series.some((sr) => sr.scale === 'y2')
        ? [{ scale: 'y2', side: 1, label: y2Label, size: 100, grid: { show: false },
          values: (u, vals) => vals.map((v) => series.find((sr) => sr.scale === 'y2').tick(v)) }]
        : []),
    ],
  };
  const plot = new uPlot(opts, data, el);
  el.dataset.points = String(data[0] ? data[0].length : 0);
  // Follow the width of the page.
  const ro = new ResizeObserver(() => {
    const w = Math.max(300, el.clientWidth);
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height });
  });
  ro.observe(el);
  return {
    el,
    update(newData) {
      plot.setData(newData);
      el.dataset.points = String(newData[0].length);
    },
    destroy() {
      ro.disconnect();
      plot.destroy();
    },
  };
}

// Horizontal bars: items [{label, value, text}]; the longest bar is the largest value.
export function barChart({ title, items }) {
  const rowH = 24;
  const labelW = 130;
  const textW = 150;
  const width = 640;
  const barMax = width - labelW - textW;
  const max = Math.max(1, ...items.map((i) => i.value));
  const svg = s('svg', {
    class: 'bars', viewBox: `0 0 ${width} ${items.length * rowH + 4}`, role: 'img', 'aria-label': title,
    preserveAspectRatio: 'xMinYMin meet',
  });
  items.forEach((item, i) => {
    const y = i * rowH + 2;
    const w = Math.max(1, Math.round((barMax * item.value) / max));
    const g = s('g', { class: 'bar', 'data-label': item.label, 'data-value': item.value });
    g.append(
      s('title', {}, `${item.label}: ${item.text}`),
      s('text', { x: labelW - 8, y: y + 16, 'text-anchor': 'end', class: 'bar-label' }, item.label),
      s('rect', { x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 2, fill: COLORS[i % COLORS.length] }),
      s('text', { x: labelW + w + 6, y: y + 16, class: 'bar-text' }, item.text),
    );
    svg.append(g);
  });
  return svg;
}
