/**
 * The timeline: one lane per device over the last two minutes of the service's clock; a
 * failure is a thin red mark, a recovery a green bar from its detection to its resume (its
 * length is its duration, at least a few pixels so a 5 ms recovery is still seen), a give-up
 * a wide red mark, a live update a blue mark when the new version took over and an orange one
 * when it rolled back. Bars are buttons: focus or hover shows the recovery's phases, or the
 * update's versions and cause.
 */
import { el, serverNow, shortVersion, type Event_, type Model } from './model.js';

export const WINDOW_MS = 120_000;
const SHOWN = ['failure', 'recovery', 'gave-up', 'update-switched', 'update-rolled-back'];

function describe(e: Event_): string {
  const at = new Date(e.at).toLocaleTimeString();
  if (e.type === 'recovery') {
    const phases = Object.entries(e.phases ?? {}).map(([phase, ms]) => `${phase} ${ms.toFixed(1)} ms`).join(', ');
    return `${e.device}: recovered from ${e.cause} at ${at} in ${(e.totalMs ?? 0).toFixed(1)} ms (${e.mode}, ${e.attempts} attempt(s)); phases: ${phases || 'none'}`;
  }
  if (e.type === 'failure') return `${e.device}: failure (${e.cause}) at ${at}: ${String(e.message ?? '')}`;
  const versions = `${shortVersion(String(e.from))} -> ${shortVersion(String(e.to))}`;
  if (e.type === 'update-switched') return `${e.device}: updated ${versions} at ${at} (pause ${Number(e.pauseMs ?? 0).toFixed(1)} ms); on probation`;
  if (e.type === 'update-rolled-back') return `${e.device}: update ${versions} rolled back at ${at}: failed in ${String(e.failedIn)}: ${String(e.cause)}`;
  return `${e.device}: gave up at ${at}: ${String(e.reason ?? '')}`;
}

function bar(e: Event_, start: number, end: number, lead: number): HTMLElement {
  // A rolled-back update's cause is a sentence; data-cause keeps failure kinds only.
  const cause = e.type.startsWith('update-') ? '' : String(e.cause ?? '');
  const node = el('button', { type: 'button', class: 'bar', 'data-type': e.type, 'data-device': e.device, 'data-cause': cause, 'aria-label': describe(e), title: describe(e) });
  node.style.left = `${((start - lead) / WINDOW_MS) * 100}%`;
  if (e.type === 'recovery') node.style.width = `${((end - start) / WINDOW_MS) * 100}%`;
  const show = () => { document.getElementById('detail')!.textContent = describe(e); };
  node.addEventListener('focus', show);
  node.addEventListener('mouseenter', show);
  return node;
}

/** Redrawn on every push (event or the second's snapshot): it scrolls as time passes. */
export function renderTimeline(root: HTMLElement, model: Model): void {
  const now = serverNow(model);
  const lead = now - WINDOW_MS;
  const focused = document.activeElement instanceof HTMLElement && root.contains(document.activeElement) ? document.activeElement.getAttribute('aria-label') : null;
  const lanes = model.devices.map((d) => {
    const track = el('div', { class: 'track', 'data-device': d.device });
    for (const e of model.events) {
      if (e.device !== d.device || !SHOWN.includes(e.type)) continue;
      const end = Date.parse(e.at);
      const start = e.type === 'recovery' ? end - (e.totalMs ?? 0) : end;
      if (end < lead) continue;
      track.append(bar(e, start, end, lead));
    }
    const lane = el('div', { class: 'lane' });
    lane.append(el('span', { class: 'lane-name' }, d.device), track);
    return lane;
  });
  root.replaceChildren(...lanes);
  // A bar the operator was reading keeps the focus across the redraw.
  if (focused) [...root.querySelectorAll<HTMLElement>('.bar')].find((b) => b.getAttribute('aria-label') === focused)?.focus();
}
