/**
 * The operator's actions, each behind a confirmation dialog: inject a fault of a chosen kind,
 * restart a driver. The request carries the token from the URL's `#token=` fragment; the
 * service refuses one without it (403, SD_ERR_PERMISSION), and the page shows that line.
 */
import type { Model } from './model.js';

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

async function post(model: Model, path: string, body: object): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (model.token) headers.authorization = `Bearer ${model.token}`;
  try {
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    const reply = await res.json() as { ok: boolean; code?: string; message?: string };
    say(reply.ok ? `done: ${path.slice(5)} ${JSON.stringify(body)}` : `refused: ${reply.code}: ${reply.message}`);
  } catch (err) {
    say(`failed: ${(err as Error).message}`);
  }
}

export async function askInject(model: Model, device: string, kind: string): Promise<void> {
  if (await confirmDialog(`Inject a "${kind}" fault into ${device}'s driver? Its clients see a pause while it recovers.`)) {
    await post(model, '/api/inject', { device, kind });
  }
}

export async function askRestart(model: Model, device: string): Promise<void> {
  if (await confirmDialog(`Restart ${device}'s driver? Its clients see a pause while it recovers.`)) {
    await post(model, '/api/restart', { device });
  }
}
