// The web console end to end, in Debian's headless Chromium driven by playwright-core
// (ui/node_modules, installed by scripts/install-ui.sh), against a real trawld that
// test_console.py started on a looped net_pcap replay. Every number the page shows is
// compared with a direct call to the same REST API; nothing is hard-coded.
//
//   node console_e2e.mjs --url URL --shots DIR [--token TOKEN] [--mode full|notoken] [--closed-port N]
//
// Prints "ok - ..." per check and a closing "N passed, N failed"; exits 1 on failure.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const sourceRoot = process.env.TRAWL_SOURCE_ROOT || join(here, '..', '..');
const require = createRequire(join(sourceRoot, 'ui', 'package.json'));
const { chromium } = require('playwright-core');
// The page's own formatting, so a number is compared as the page must show it.
const fmt = await import(join(sourceRoot, 'ui', 'src', 'format.js'));

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' }, token: { type: 'string' }, shots: { type: 'string' },
    mode: { type: 'string', default: 'full' },
    'closed-port': { type: 'string', default: '1' },
  },
});
const origin = opt.url.replace(/\/$/, '');
opt.closedPort = opt['closed-port'];
mkdirSync(opt.shots, { recursive: true });

let passed = 0;
let failed = 0;
function check(condition, what, detail = '') {
  if (condition) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail ? `: ${detail}` : ''}`);
  }
  return condition;
}
// JSON with object keys sorted: key order carries no meaning in the API's answers.
function canonical(v) {
  return JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
}
function equal(actual, expected, what) {
  const a = canonical(actual);
  const e = canonical(expected);
  return check(a === e, what, `got ${a}, expected ${e}`);
}

async function api(method, path, body) {
  const headers = opt.token ? { Authorization: `Bearer ${opt.token}` } : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(origin + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, data: text ? JSON.parse(text) : null };
}

async function until(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(20000);

const requests = [];
const pageErrors = [];
const consoleErrors = [];
page.on('request', (r) => requests.push(r.url()));
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

const shot = async (name) => {
  await page.screenshot({ path: join(opt.shots, `${name}.png`), fullPage: true });
  console.log(`# screenshot ${join(opt.shots, `${name}.png`)}`);
};
const cellValue = async (locator) => Number(await locator.getAttribute('data-value'));

try {
  if (opt.mode === 'notoken') await noToken();
  else await full();
} catch (e) {
  check(false, 'the scenario ran to its end', e.stack || String(e));
  await shot('failure').catch(() => {});
}

// Every request the page made went to trawld, and to its public API or the console.
const foreign = requests.filter((u) => !u.startsWith(origin + '/'));
check(requests.length > 0 && foreign.length === 0, `all ${requests.length} requests went to ${origin}`, foreign.join(', '));
const paths = requests.map((u) => new URL(u).pathname);
const unexpected = paths.filter((p) => !/^\/ui(\/|$)/.test(p) && !/^\/v1\/(captures|ports)(\/|$)/.test(p));
check(unexpected.length === 0, 'the page used only /ui and the public REST API (/v1/captures, /v1/ports)', unexpected.join(', '));
check(pageErrors.length === 0, 'no JavaScript errors', pageErrors.join(' | '));
// Chromium logs every error answer as a console error; two are expected: the 401 of the
// first API call, before the token, and the 400 of the bad filter.
const otherErrors = consoleErrors.filter((t) => !(opt.mode === 'full' && /status of (401|400)/.test(t)));
check(otherErrors.length === 0, 'no other console errors', otherErrors.join(' | '));

await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// ---- without a token: a loopback-only trawld ------------------------------------------

async function noToken() {
  await page.goto(`${origin}/ui`);
  await page.getByRole('heading', { name: 'Capture sessions' }).waitFor();
  const sessions = (await api('GET', '/v1/captures')).data;
  await until('the sessions table', async () => (await page.locator('#sessions-table caption').textContent()).includes(`(${sessions.length})`));
  check(!(await page.locator('#token-dialog').evaluate((d) => d.open)), 'no token asked of a loopback trawld without a token file');
  check(await page.locator('#forget-token').isHidden(), 'no "Forget token" button without a token');
  for (const s of sessions) {
    const row = page.locator(`tr[data-session="${s.name}"]`);
    check(await row.count() === 1, `config session ${s.name} is listed`);
  }
  await page.getByRole('link', { name: 'Ports' }).click();
  await page.getByRole('heading', { name: 'Ports' }).waitFor();
  await page.locator('#ports-table tbody tr').first().waitFor();
  const ports = (await api('GET', '/v1/ports')).data;
  equal(await page.locator('#ports-table tbody th').allTextContents(), ports.map((p) => p.name), 'the ports page lists the ports');
  check(await page.evaluate(() => sessionStorage.length === 0 && localStorage.length === 0), 'nothing stored in the browser');
  await shot('notoken-ports');
}

// ---- the whole tour, with a token --------------------------------------------------

async function full() {
  // Log in: the page is public, the API is not.
  await page.goto(`${origin}/ui`);
  const tokenBox = page.getByRole('textbox', { name: 'Token' });
  await tokenBox.waitFor();
  check(await page.locator('#token-dialog').evaluate((d) => d.open), 'the token dialog opens when trawld answers 401');
  await shot('token');
  await tokenBox.fill(opt.token);
  await tokenBox.press('Enter');
  await page.getByRole('heading', { name: 'Capture sessions' }).waitFor();
  await until('the sessions table', async () => /Sessions \(\d+\)/.test(await page.locator('#sessions-table caption').textContent()));
  const storage = await page.evaluate(() => ({ session: sessionStorage.getItem('trawl.token'), local: localStorage.length, cookie: document.cookie }));
  equal(storage, { session: opt.token, local: 0, cookie: '' }, 'the token is kept in sessionStorage only');

  // Keyboard: the first Tab reaches the skip link, which leads to the content.
  await page.locator('body').focus();
  await page.keyboard.press('Tab');
  equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content', 'the first Tab stop is "Skip to content"');

  // ---- create a session through the form --------------------------------------------
  const name = 'web';
  await page.getByLabel('Source subnets').fill('10.1.0.10');
  await page.getByLabel('Bytes per packet (snap length)').fill('96');
  await page.getByLabel('File size (bytes)').fill('4000000');
  await page.getByLabel('Byte limit').fill('400000000');
  await page.getByLabel('Name').fill(name);
  const body = JSON.parse(await page.locator('#body-preview').textContent());
  equal(body, {
    filters: [{ sourceSubnets: ['10.1.0.10'], destinationSubnets: [], sourcePorts: [], destinationPorts: [], protocols: [],
      tcpFlags: 0, bidirectional: true }],
    bytesToCapturePerPacket: 96, totalBytesPerSession: 400000000, fileSizeInBytes: 4000000, format: 'pcap',
  }, 'the form builds the canonical spec');
  await page.getByLabel('Name').press('Enter');  // submitted from the keyboard
  await page.locator('#create-result').getByText(`Session ${name} created (Running)`).waitFor();
  const created = (await api('GET', `/v1/captures/${name}`)).data;
  equal(created.spec.filters, body.filters, 'trawld stored the filter the form built');
  equal([created.spec.bytesToCapturePerPacket, created.spec.fileSizeInBytes], [96, 4000000], 'and its limits');

  // Its packet counter rises on the page (auto-refresh), never above what the API says.
  const row = page.locator(`tr[data-session="${name}"]`);
  const packetsCell = row.locator('[data-field=packets]');
  await until('packets > 0 on the page', async () => (await cellValue(packetsCell)) > 0);
  const first = await cellValue(packetsCell);
  const apiAfterFirst = (await api('GET', `/v1/captures/${name}`)).data.packets;
  check(first <= apiAfterFirst, `the page's ${first} packets is at most the API's ${apiAfterFirst} read after it`);
  const second = await until('the counter to rise', async () => { const v = await cellValue(packetsCell); return v > first && v; });
  check(second > first, `the packet counter rose on its own from ${first} to ${second}`);
  equal(await packetsCell.textContent(), fmt.int(second), 'packets shown with thousands separators');
  equal(await row.locator('[data-field=status]').textContent(), 'Running', 'status Running');
  await shot('sessions');

  // ---- a bad filter is refused, with the field named --------------------------------
  await page.getByLabel('Destination ports').fill('80, 99999');
  await page.getByLabel('Name').fill('bad');
  const badBody = JSON.parse(await page.locator('#body-preview').textContent());
  await page.getByRole('button', { name: 'Create and start' }).click();
  const fieldError = page.locator('#err-destinationPorts');
  await fieldError.waitFor({ state: 'visible' });
  const direct = await api('PUT', '/v1/captures/bad-direct', badBody);
  equal(direct.status, 400, 'the same body sent directly is refused with 400');
  const e = direct.data.error;
  equal(e.target, 'filters[0].destinationPorts[1]', 'trawld names the field in target');
  equal(await fieldError.textContent(), `${e.target}: ${e.message}`, 'the error is shown next to the destination ports input, as trawld said it');
  equal(await page.getByLabel('Destination ports').getAttribute('aria-invalid'), 'true', 'the input is marked aria-invalid');
  equal(await page.evaluate(() => document.activeElement.id), 'f-destinationPorts', 'the focus moved to the faulty input');
  check((await page.locator('#form-errors [role=alert]').textContent()).includes(e.message), 'the error summary repeats it');
  equal((await api('GET', '/v1/captures/bad')).status, 404, 'no session "bad" was created');
  await shot('sessions-bad-filter');
  await page.getByLabel('Destination ports').fill('');
  await page.getByLabel('Name').fill('');

  // ---- session detail ----------------------------------------------------------------
  await row.getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name: `Session ${name}` }).waitFor();
  await page.locator('#files-table').waitFor();
  await until('two rate samples on the chart', async () => Number(await page.locator('#session-rates .chart').getAttribute('data-points') || 0) >= 2);
  check(await page.locator('#session-rates canvas').count() > 0, 'the counters-over-time chart is drawn');
  await until('rotated files', async () => (await page.locator('#files-table tbody tr').count()) >= 2, 40000);

  // Stop, with confirmation (cancel first: nothing happens).
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Stop session ${name}?` });
  await dialog.waitFor();
  equal(await page.evaluate(() => document.activeElement.id), 'confirm-cancel', 'the confirmation has Cancel focused');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  equal((await api('GET', `/v1/captures/${name}`)).data.status, 'Running', 'Escape cancels: still running');
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await dialog.getByRole('button', { name: 'Stop session' }).click();
  await until('Stopped on the page', async () => (await page.locator('#session-summary [data-field=status]').textContent()) === 'Stopped');
  const stopped = (await api('GET', `/v1/captures/${name}`)).data;
  equal([stopped.status, stopped.stopReason], ['Stopped', 'ManuallyStopped'], 'trawld stopped it (ManuallyStopped)');
  await until('the final counters', async () => (await cellValue(page.locator('#session-summary [data-field=packets]'))) === stopped.packets);
  check(true, `the detail page shows the final ${stopped.packets} packets`);

  const files = (await api('GET', `/v1/captures/${name}/files`)).data;
  await until('the final file list', async () => (await page.locator('#files-table tbody tr').count()) === files.length);
  const shown = await page.locator('#files-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    name: tr.dataset.file,
    bytes: Number(tr.querySelector('[data-field=bytes]').dataset.value),
    packets: Number(tr.querySelector('[data-field=packets]').dataset.value),
    href: tr.querySelector('a').getAttribute('href'),
    state: tr.querySelector('[data-field=state]').textContent,
  })));
  equal(shown, files.map((f) => ({ name: f.name, bytes: f.bytes, packets: f.packets, href: `/v1/captures/${name}/files/${f.name}`,
    state: f.complete ? 'complete' : 'writing' })), `the files table equals GET …/files (${files.length} files)`);
  const hasUpload = files.some((f) => f.upload !== undefined && f.upload !== null);
  equal(await page.locator('#files-table th', { hasText: 'Upload' }).count(), hasUpload ? 1 : 0,
    `the Upload column is shown exactly when the files API reports an upload state (${hasUpload})`);
  check(files.reduce((n, f) => n + f.packets, 0) === stopped.packets, 'the files hold the session\'s packets');

  // Download through the link (the token travels in a header, not the URL).
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: `Download ${files[0].name}` }).click()]);
  const saved = join(opt.shots, 'download.pcap');
  await download.saveAs(saved);
  const { statSync, readFileSync, unlinkSync } = await import('node:fs');
  equal(statSync(saved).size, files[0].bytes, `the downloaded ${files[0].name} has the listed size`);
  equal(readFileSync(saved).readUInt32LE(0).toString(16), 'a1b23c4d', 'and is a nanosecond pcap file');
  unlinkSync(saved);
  await shot('session');

  // ---- analysis ----------------------------------------------------------------------
  await page.getByRole('link', { name: 'Analysis' }).click();
  await page.getByRole('heading', { name: `Analysis of ${name}` }).waitFor();
  await page.locator('#analysis-summary').waitFor({ timeout: 60000 });
  const report = (await api('GET', `/v1/captures/${name}/analysis?top=1000`)).data;
  check(report.engine.cached === true, 'the direct call was answered from the cache the page filled');
  const dd = (f) => page.locator(`#analysis-summary [data-field=${f}]`);
  equal([await cellValue(dd('records')), await cellValue(dd('flows')), await cellValue(dd('addresses'))],
    [report.summary.records, report.summary.flows, report.summary.addresses], 'summary: packets, flows, addresses as the API');
  equal(report.summary.records, stopped.packets, 'the analysis covers every packet of the stopped session');

  const tableRows = (id) => page.locator(`#${id} tbody tr`).evaluateAll((trs) => trs.map((tr) =>
    [...tr.children].map((c) => (c.dataset.value !== undefined ? Number(c.dataset.value) : c.textContent))));
  equal((await tableRows('protocols-table')).map((r) => [r[0], r[2], r[3], r[5]]),
    report.protocols.map((p) => [p.protocol, p.packets, p.bytes, p.flows]), `protocols table (${report.protocols.length} rows) as the API`);
  const bars = await page.locator('#protocols-chart g.bar').evaluateAll((gs) => gs.map((g) => [g.dataset.label, Number(g.dataset.value)]));
  equal(bars, report.protocols.slice(0, 12).map((p) => [p.protocol, p.bytes]), 'protocol chart: one bar per protocol, by bytes');
  const widths = await page.locator('#protocols-chart g.bar rect').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('width'))));
  check(widths.every((w, i) => i === 0 || w <= widths[i - 1]) && widths[0] > 0, 'bars are drawn, largest first', widths.join(','));
  equal((await tableRows('services-table')).map((r) => [r[0], r[1], r[2]]),
    report.services.map((s) => [s.service, s.packets, s.bytes]), 'services table as the API');

  equal(Number(await page.locator('#timeline-chart .chart').getAttribute('data-points')), report.timeline.buckets.length,
    `timeline chart has the API's ${report.timeline.buckets.length} intervals`);
  check(await page.locator('#timeline-chart canvas').count() > 0, 'the timeline is drawn');
  equal((await tableRows('timeline-table')).map((r) => [r[1], r[2]]), report.timeline.buckets.map((b) => [b.packets, b.bytes]),
    'timeline table as the API');

  equal((await tableRows('talkers-table')).map((r) => [r[0], r[2], r[3]]),
    report.addresses.items.slice(0, 25).map((a) => [a.address, a.bytesSent, a.bytesReceived]), 'top talkers as the API');
  equal((await tableRows('countries-table')).map((r) => [r[0], r[2]]),
    report.countries.items.map((c) => [c.country, c.addresses]), 'countries as the API');
  const note = await page.locator('#geoip-note').textContent();
  check(/old/i.test(note) && note.includes(report.countries.geoip.dataDate), 'the page says the GeoIP data is old, with its date', note);

  // The flow table: totals, default order, sorting (keyboard) and filtering.
  const caption = page.locator('#flows-caption');
  equal([Number(await caption.getAttribute('data-total')), Number(await caption.getAttribute('data-fetched'))],
    [report.flows.total, report.flows.items.length], 'flow table: total and fetched flows as the API');
  const flowCells = (col) => page.locator(`#flows-table tbody td[data-col=${col}]`).evaluateAll((tds) => tds.map((td) => td.dataset.value !== undefined ? Number(td.dataset.value) : td.textContent));
  const items = report.flows.items;
  const shownRows = Math.min(100, items.length);
  equal((await flowCells('bytes')), items.slice(0, shownRows).map((f) => f.bytes), 'flows sorted by bytes, as the API sorts them');
  equal((await flowCells('client')).slice(0, 5), items.slice(0, 5).map((f) => f.client), 'the top flows\' clients as the API');
  const packetsHeader = page.locator('#flows-table th[data-col=packets]');
  await packetsHeader.getByRole('button').focus();
  await page.keyboard.press('Enter');
  equal(await packetsHeader.getAttribute('aria-sort'), 'descending', 'Enter on "Packets" sorts by packets, descending');
  const byPackets = [...items].map((f) => f.packets).sort((a, b) => b - a);
  equal(await flowCells('packets'), byPackets.slice(0, shownRows), 'largest packet counts first');
  await page.keyboard.press('Enter');
  equal(await packetsHeader.getAttribute('aria-sort'), 'ascending', 'again: ascending');
  equal(await flowCells('packets'), [...byPackets].reverse().slice(0, shownRows), 'smallest packet counts first');
  await page.getByLabel('Filter flows').fill('dns');
  const dnsFlows = items.filter((f) => f.service === 'dns');
  await until('the filtered table', async () => Number(await caption.getAttribute('data-matching')) === dnsFlows.length);
  const services = await flowCells('service');
  check(dnsFlows.length > 0 && services.length === Math.min(100, dnsFlows.length) && services.every((s) => s === 'dns'),
    `filter "dns": ${dnsFlows.length} flows, every one of them dns`);
  await page.getByLabel('Filter flows').fill('');
  await page.locator('#flows-table th[data-col=bytes] button').click();
  await shot('analysis');
  await page.screenshot({ path: join(opt.shots, 'analysis-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1360, height: 1900 } });

  // ---- upload state, when the files API reports one ----------------------------------
  // A session created directly with an upload target where nothing listens (a closed
  // loopback port): trawld keeps retrying, and each closed file's upload state is in
  // GET …/files. The page must show exactly those states.
  const upl = 'upl';
  const created2 = await api('PUT', `/v1/captures/${upl}`, {
    filters: [{ protocols: ['icmp'] }], maxPackets: 3000, fileSizeInBytes: 100000,
    storage: { uploadUrl: `http://127.0.0.1:${opt.closedPort}/console-test?sv=2022-11-02&sr=c&sp=cw&sig=c2VjcmV0` },
  });
  equal(created2.status, 201, 'a session with an upload target is created directly');
  await until('the upload session to stop', async () => (await api('GET', `/v1/captures/${upl}`)).data.status === 'Stopped');
  await page.goto(`${origin}/ui#/sessions/${upl}`);
  await page.getByRole('heading', { name: `Session ${upl}` }).waitFor();
  await page.locator('#files-table th', { hasText: 'Upload' }).waitFor();
  check(true, 'the Upload column appears for a session with an upload target');
  // States move (pending ↔ uploading) while trawld retries: compare the page with an
  // API call made right after reading it, until one refresh agrees.
  let last = null;
  await until('the page\'s upload states to match the API', async () => {
    const onPage = await page.locator('#files-table tbody tr').evaluateAll((trs) => trs.map((tr) =>
      [tr.dataset.file, tr.querySelector('[data-field=upload] .badge')?.textContent ?? null]));
    const listed = (await api('GET', `/v1/captures/${upl}/files`)).data;
    last = [onPage, listed.map((f) => [f.name, f.upload ? f.upload.state : null])];
    return canonical(last[0]) === canonical(last[1]);
  }, 20000).catch(() => {});
  equal(last[0], last[1], `each file's upload state as GET …/files says (${last[1].length} files)`);
  const summaryText = await page.locator('#session-summary [data-field=upload]').textContent();
  const uplSession = (await api('GET', `/v1/captures/${upl}`)).data;
  check(summaryText.includes(`${fmt.int(uplSession.upload.uploadedFiles)} uploaded`) && summaryText.includes(uplSession.upload.uploadUrl) &&
    !summaryText.includes('c2VjcmV0'), 'the upload summary is shown as the API gives it, without the SAS signature', summaryText);
  await shot('session-upload');
  await api('DELETE', `/v1/captures/${upl}?purge=true`);

  // ---- ports -------------------------------------------------------------------------
  const portsBefore = (await api('GET', '/v1/ports')).data;
  await page.getByRole('link', { name: 'Ports' }).click();
  await page.getByRole('heading', { name: 'Ports' }).waitFor();
  equal(await page.getByRole('link', { name: 'Ports' }).getAttribute('aria-current'), 'page', 'the nav marks the current page');
  const rateCell = page.locator('#ports-table tbody tr').first().locator('[data-field=rxRate]');
  await until('a receive rate', async () => (await rateCell.getAttribute('data-value')) !== '');
  const shownPorts = await page.locator('#ports-table tbody tr').evaluateAll((trs) => trs.map((tr) => Object.fromEntries(
    [...tr.querySelectorAll('[data-field]')].map((td) => [td.dataset.field, Number(td.dataset.value)]))));
  const portsAfter = (await api('GET', '/v1/ports')).data;
  equal(shownPorts.length, portsAfter.length, 'one row per port');
  for (const [i, p] of portsAfter.entries()) {
    for (const k of ['rxPackets', 'rxBytes', 'rxMissed', 'rxNoMbuf', 'rxErrors']) {
      check(portsBefore[i][k] <= shownPorts[i][k] && shownPorts[i][k] <= p[k],
        `${p.name} ${k}: shown ${shownPorts[i][k]} lies between the API's ${portsBefore[i][k]} before and ${p[k]} after`);
    }
    check(shownPorts[i].rxRate > 0, `${p.name} receive rate ${fmt.rate(shownPorts[i].rxRate, 'pkt')} is above 0 (a looped replay)`);
  }
  await until('the rate chart', async () => Number(await page.locator('#ports-chart .chart').getAttribute('data-points') || 0) >= 2);
  check(true, 'the receive-rate chart has samples');
  await shot('ports');

  // ---- delete, with its files --------------------------------------------------------
  await page.getByRole('link', { name: 'Sessions' }).click();
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  const del = page.getByRole('dialog', { name: `Delete session ${name}?` });
  await del.getByLabel('Also delete its capture files').check();
  await del.getByRole('button', { name: 'Delete session' }).click();
  await row.waitFor({ state: 'detached' });
  equal((await api('GET', `/v1/captures/${name}`)).status, 404, 'the session is gone from the API');
  await page.getByRole('status').filter({ hasText: `Session ${name} deleted with its files` }).waitFor({ state: 'attached' });
  check(true, 'the deletion was announced to screen readers');
}
