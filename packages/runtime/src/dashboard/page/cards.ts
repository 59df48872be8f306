/** One card per device: class, driver version, domain and pid, state, uptime, request rate, recoveries by cause, last update, actions. */
import { el, shortVersion, type Card, type Model } from './model.js';
import { askInject, askRestart, askUpdate } from './actions.js';

function uptime(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

function lastUpdate(u: NonNullable<Card['lastUpdate']>): string {
  const to = shortVersion(u.to);
  return u.outcome === 'switched' ? `to ${to}` : `to ${to} rolled back (${u.failedIn}: ${u.cause})`;
}

function fields(card: Card, model: Model): [string, string][] {
  const causes = Object.entries(card.recoveriesByCause);
  const rate = model.rates.get(card.device);
  return [
    // The version running now: a live update changes it.
    ['class', card.class], ['driver', shortVersion(card.version ?? card.driver)], ['domain', card.pid === null ? card.domain : `${card.domain} (pid ${card.pid})`],
    ['uptime', uptime(card.uptimeSeconds)],
    ['requests/s', card.requests === null ? 'not counted' : rate === undefined ? '…' : rate.toFixed(rate < 10 ? 1 : 0)],
    ['recoveries', causes.length === 0 ? '0' : causes.map(([cause, n]) => `${cause} ${n}`).join(', ')],
    ...(card.quarantined > 0 ? [['quarantined', String(card.quarantined)] as [string, string]] : []),
    ...(card.gaveUp ? [['gave up', card.gaveUp.reason] as [string, string]] : []),
    ...(card.lastUpdate ? [['last update', lastUpdate(card.lastUpdate)] as [string, string]] : []),
  ];
}

function actions(card: Card, model: Model): HTMLElement {
  const box = el('div', { class: 'actions' });
  const select = el('select', { 'aria-label': `fault kind for ${card.device}`, 'data-role': 'kind' });
  for (const kind of model.faultKinds) select.append(el('option', { value: kind }, kind));
  const inject = el('button', { type: 'button', 'data-action': 'inject' }, 'Inject…');
  inject.addEventListener('click', () => askInject(model, card.device, select.value));
  const restart = el('button', { type: 'button', 'data-action': 'restart' }, 'Restart…');
  restart.addEventListener('click', () => askRestart(model, card.device));
  // The update: a built-in name offered from the catalogue, or any module path typed in.
  const list = el('datalist', { id: `drivers-${encodeURIComponent(card.device)}` });
  for (const name of model.drivers[card.class] ?? []) list.append(el('option', { value: name }));
  const driver = el('input', { type: 'text', 'data-role': 'driver', list: list.id, placeholder: 'name or path', 'aria-label': `new driver for ${card.device}: a built-in name or a module path`, autocomplete: 'off', spellcheck: 'false' });
  const update = el('button', { type: 'button', 'data-action': 'update' }, 'Update…');
  update.addEventListener('click', () => askUpdate(model, card.device, driver.value));
  driver.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); update.click(); } });
  const live = ['running', 'recovering', 'updating'].includes(card.state);
  for (const control of [select, inject, restart, driver, update]) control.toggleAttribute('disabled', !live);
  // On a row of its own: a module path needs the card's width.
  const row = el('div', { class: 'update' });
  row.append(driver, list, update);
  box.append(select, inject, restart, row);
  return box;
}

function render(card: Card, model: Model): HTMLElement {
  const node = el('article', { class: 'card', 'data-device': card.device, 'data-state': card.state, 'aria-label': `device ${card.device}` });
  const title = el('h3', {}, card.device);
  title.append(el('span', { class: 'state', 'data-state': card.state }, card.state));
  const list = el('dl');
  for (const [name, value] of fields(card, model)) list.append(el('dt', {}, name), el('dd', { 'data-field': name }, value));
  node.append(title, list, actions(card, model));
  return node;
}

/**
 * Cards are updated in place (their text and state), and rebuilt only when the device list
 * changes, so a focused control or an open select keeps its focus across the second's update.
 */
export function renderCards(root: HTMLElement, model: Model): void {
  const names = model.devices.map((d) => d.device).join('\n');
  if (root.dataset.names !== names) {
    root.replaceChildren(...model.devices.map((card) => render(card, model)));
    root.dataset.names = names;
    return;
  }
  model.devices.forEach((card, i) => {
    const node = root.children[i] as HTMLElement;
    node.dataset.state = card.state;
    const state = node.querySelector<HTMLElement>('.state')!;
    state.dataset.state = card.state;
    state.textContent = card.state;
    const list = node.querySelector('dl')!;
    const wanted = fields(card, model);
    if (list.children.length !== wanted.length * 2) list.replaceChildren(...wanted.flatMap(([n, v]) => [el('dt', {}, n), el('dd', { 'data-field': n }, v)]));
    else wanted.forEach(([, value], k) => { if (list.children[2 * k + 1]!.textContent !== value) list.children[2 * k + 1]!.textContent = value; });
    const live = ['running', 'recovering', 'updating'].includes(card.state);
    for (const control of node.querySelectorAll('select, input, button')) control.toggleAttribute('disabled', !live);
  });
}
