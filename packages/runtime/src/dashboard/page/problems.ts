/** Quarantined requests and give-ups, newest first, each with its reason. */
import { el, type Model } from './model.js';

export function renderProblems(root: HTMLElement, model: Model): void {
  const items = model.events.filter((e) => e.type === 'quarantine' || e.type === 'gave-up').slice(-100).reverse().map((e) => {
    const at = new Date(e.at).toLocaleTimeString();
    const text = e.type === 'quarantine'
      ? `${at} ${e.device}: ${String(e.entry)} quarantined after ${String(e.failures)} failures with it in flight (outcome ${String(e.outcome)})`
      : `${at} ${e.device}: gave up: ${String(e.reason)}`;
    return el('li', { class: e.type, 'data-device': e.device }, text);
  });
  root.replaceChildren(...(items.length > 0 ? items : [el('li', { class: 'none' }, 'none')]));
}
