/**
 * The page's entry: takes the token from the URL's `#token=` fragment (then drops it from the
 * address bar, keeping it for this tab only), opens the service's event stream and redraws on
 * each push. No request is polled: the service pushes events as they happen and a device
 * snapshot once a second. When the stream drops the page says "disconnected" and reconnects
 * by itself (EventSource retries; a stream the service refused is opened again).
 */
import { renderCards } from './cards.js';
import { Charts } from './charts.js';
import { MAX_EVENTS, type Card, type Event_, type Model } from './model.js';
import { renderProblems } from './problems.js';
import { renderTimeline } from './timeline.js';

const RECONNECT_MS = 2000;

function takeToken(): string | undefined {
  const found = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (found) {
    sessionStorage.setItem('shadow-token', decodeURIComponent(found[1]!));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('shadow-token') ?? undefined;
}

const byId = (id: string) => document.getElementById(id)!;
const model: Model = { devices: [], events: [], faultKinds: [], drivers: {}, offsetMs: 0, rates: new Map(), token: takeToken() };
byId('authority').textContent = model.token ? 'actions enabled (token from the URL)' : 'view only: open the URL with #token= the service printed to act';
const charts = new Charts(byId('recovery-chart'), byId('throughput-chart'));
let last: { at: number; requests: Map<string, number> } | undefined;

function setConnection(state: 'connected' | 'disconnected'): void {
  const node = byId('connection');
  node.dataset.state = state;
  node.textContent = state;
}

function redraw(): void {
  renderCards(byId('devices'), model);
  renderTimeline(byId('timeline'), model);
  renderProblems(byId('problems'), model);
}

function onDevices(now: string, devices: Card[]): void {
  const at = Date.parse(now);
  model.offsetMs = at - Date.now();
  model.devices = devices;
  const requests = new Map(devices.flatMap((d) => (d.requests === null ? [] : [[d.device, d.requests] as const])));
  if (last && at > last.at) {
    for (const [device, n] of requests) {
      const before = last.requests.get(device);
      if (before !== undefined && n >= before) model.rates.set(device, ((n - before) * 1000) / (at - last.at));
    }
  }
  last = { at, requests };
  charts.sample(model, at);
}

function connect(): void {
  const source = new EventSource('/events');
  source.addEventListener('open', () => setConnection('connected'));
  source.addEventListener('error', () => {
    setConnection('disconnected');
    // A stream the service refused (not a network error) is not retried by the browser.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
  });
  source.addEventListener('hello', (m) => {
    const hello = JSON.parse((m as MessageEvent<string>).data) as { devices: Card[]; recent: Event_[]; faultKinds: string[]; drivers?: Record<string, string[]>; now: string };
    model.faultKinds = hello.faultKinds;
    model.drivers = hello.drivers ?? {};
    // A reconnect starts from the service's own history: events are not counted twice.
    model.events = hello.recent;
    model.rates.clear();
    last = undefined;
    onDevices(hello.now, hello.devices);
    charts.recoveries(model);
    redraw();
  });
  source.addEventListener('devices', (m) => {
    const tick = JSON.parse((m as MessageEvent<string>).data) as { now: string; devices: Card[] };
    onDevices(tick.now, tick.devices);
    redraw();
  });
  source.addEventListener('event', (m) => {
    const event = JSON.parse((m as MessageEvent<string>).data) as Event_;
    model.events.push(event);
    if (model.events.length > MAX_EVENTS) model.events.shift();
    if (event.type === 'recovery') charts.recoveries(model);
    redraw();
  });
}

connect();
