// Pieces shared by the pages: status badges, the stop and delete actions, refresh timers.
import * as api from '../api.js';
import { announce, confirmAction, h } from '../dom.js';

export function statusBadge(status) {
  return h('span', { class: `badge status-${String(status).toLowerCase()}` }, status);
}

export function dropped(session) {
  const d = session.droppedPackets || {};
  return (d.ringFull || 0) + (d.writeError || 0);
}

// Stop with confirmation; resolves true if stopped.
export async function stopSession(name) {
  const answer = await confirmAction({
    title: `Stop session ${name}?`,
    message: 'Capture ends now; the last file is closed and stays downloadable. A stopped session cannot be restarted.',
    confirm: 'Stop session',
  });
  if (!answer.ok) return false;
  await api.call('POST', `/v1/captures/${api.enc(name)}/stop`);
  announce(`Session ${name} stopped`);
  return true;
}

// Delete with confirmation (optionally with its files); resolves true if deleted.
export async function deleteSession(name) {
  const answer = await confirmAction({
    title: `Delete session ${name}?`,
    message: 'The session is stopped if it runs and removed from the list. Its files stay on disk unless you also delete them.',
    confirm: 'Delete session',
    option: 'Also delete its capture files',
  });
  if (!answer.ok) return false;
  await api.call('DELETE', `/v1/captures/${api.enc(name)}${answer.checked ? '?purge=true' : ''}`);
  announce(`Session ${name} deleted${answer.checked ? ' with its files' : ''}`);
  return true;
}

// Calls `tick` now and then every `ms` while the page is shown; never two at once.
// Returns the stop function. `enabled()` may pause it (the auto-refresh checkbox).
export function every(ms, tick, enabled = () => true) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    if (stopped) return;
    if (enabled()) {
      try {
        await tick();
      } catch (e) {
        console.warn(e);
      }
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function errorBox(error) {
  const where = error.target ? ` [${error.target}]` : '';
  return h('p', { class: 'error', role: 'alert' }, `${error.code || 'Error'}: ${error.message}${where}`);
}

// The time of the last refresh, for the toolbar.
export function updatedNow(el) {
  el.textContent = `updated ${new Date().toLocaleTimeString('en-GB')}`;
}
