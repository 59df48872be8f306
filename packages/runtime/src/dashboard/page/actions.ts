/**
 * The operator's actions, each behind a confirmation dialog: inject a fault of a chosen kind,
 * restart a driver, update a driver to another version (live update). The request carries the token from the URL's `#token=` fragment; the
 * service refuses one without it (403, SD_ERR_PERMISSION), and the page shows that line.
 */
import { shortVersion, type Model } from './model.js';

function confirmDialog(text: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  document.getElementById('confirm-text')!.textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  // The safe choice has the focus: Enter on an unread dialog does nothing harmful.
  (dialog.querySelector('button[value="cancel"]') as HTMLButtonElement).focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

function say(text: string): void {
  document.getElementById('action-result')!.textContent = text;
}

interface Reply { ok: boolean; code?: string; message?: string; result?: unknown }

/** The action's reply; a network failure is a reply too, so every path ends in one line. */
async function post(model: Model, path: string, body: object): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (model.token) headers.authorization = `Bearer ${model.token}`;
  try {
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    return await res.json() as Reply;
  } catch (err) {
    return { ok: false, code: 'failed', message: (err as Error).message };
  }
}

async function act(model: Model, path: string, body: object): Promise<void> {
  const reply = await post(model, path, body);
  say(reply.ok ? `done: ${path.slice(5)} ${JSON.stringify(body)}` : `refused: ${reply.code}: ${reply.message}`);
}

export async function askInject(model: Model, device: string, kind: string): Promise<void> {
  if (await confirmDialog(`Inject a "${kind}" fault into ${device}'s driver? Its clients see a pause while it recovers.`)) {
    await act(model, '/api/inject', { device, kind });
  }
}

export async function askRestart(model: Model, device: string): Promise<void> {
  if (await confirmDialog(`Restart ${device}'s driver? Its clients see a pause while it recovers.`)) {
    await act(model, '/api/restart', { device });
  }
}

interface Report { outcome: string; from: string; to: string; pauseMs?: number; failedIn?: string; cause?: string }

/** As `shadowd update` prints it: updated, or rolled back with where and why. */
function describeUpdate(device: string, r: Report): string {
  if (r.outcome === 'switched') return `updated ${device}: ${shortVersion(r.from)} -> ${shortVersion(r.to)} (pause ${(r.pauseMs ?? 0).toFixed(1)} ms)`;
  return `rolled back ${device} to ${shortVersion(r.from)}: ${shortVersion(r.to)} failed in ${r.failedIn}: ${r.cause}`;
}

export async function askUpdate(model: Model, device: string, driver: string): Promise<void> {
  if (driver.trim() === '') { say(`update ${device}: name a driver first (a built-in name or a module path)`); return; }
  const running = model.devices.find((d) => d.device === device)?.version;
  const from = running ? ` from ${shortVersion(running)}` : '';
  if (!await confirmDialog(`Update ${device}'s driver${from} to "${driver}"? Its clients see a short pause; if the new version fails it is rolled back.`)) return;
  say(`updating ${device} to ${driver}: the new version serves its probation first…`);
  const reply = await post(model, '/api/update', { device, driver });
  say(reply.ok ? describeUpdate(device, reply.result as Report) : `refused: ${reply.code}: ${reply.message}`);
}
