// Number and time formatting shared by every page (and by the end-to-end test, which
// formats the API's numbers the same way to compare them with what the page shows).
export function int(n) {
  if (n === null || n === undefined) return '–';
  return Number(n).toLocaleString('en-US');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

export function rate(perSecond, unit) {
  if (perSecond === null || perSecond === undefined || !isFinite(perSecond)) return '–';
  const prefixes = [['', 1], ['k', 1e3], ['M', 1e6], ['G', 1e9]];
  let [p, d] = prefixes[0];
  for (const [pp, dd] of prefixes) if (Math.abs(perSecond) >= dd) [p, d] = [pp, dd];
  const v = perSecond / d;
  // Whole numbers where they are large; one decimal below 10 (chart ticks of 0.2 pkt/s).
  const text = d === 1 && (Math.abs(v) >= 10 || Number.isInteger(v)) ? String(Math.round(v)) : v.toFixed(1);
  return `${text} ${p}${unit}/s`;
}

export function percent(part, whole) {
  if (!whole) return '0.0%';
  return `${((100 * part) / whole).toFixed(1)}%`;
}

// "2026-11-22T08:46:11.475382813Z" → "2026-11-22 08:46:11 UTC" (the full value goes in a title).
export function time(iso) {
  if (!iso) return '–';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

// RFC 3339 with nanoseconds → seconds since the epoch (as precise as a double allows).
export function epochSeconds(iso) {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(iso || '');
  if (!m) return NaN;
  return Date.parse(m[1] + 'Z') / 1000 + (m[2] ? parseFloat('0' + m[2]) : 0);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 1e-3) return `${Math.round(seconds * 1e6)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(1)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
export function tcpFlags(mask) {
  if (mask === null || mask === undefined) return '';
  if (typeof mask === 'string') return mask;
  return FLAG_NAMES.filter((_, i) => mask & (1 << i)).join('|');
}
export { FLAG_NAMES };
