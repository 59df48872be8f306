/** What the page keeps: the devices as last pushed, the events seen, and the clock offset. */
export interface Card {
  device: string; class: string; driver: string; domain: string; pid: number | null; state: string;
  uptimeSeconds: number; requests: number | null; recoveriesByCause: Record<string, number>;
  quarantined: number; gaveUp: { at: string; reason: string } | null;
}

export interface Event_ { at: string; type: string; device: string; cause?: string; totalMs?: number; phases?: Record<string, number>; [field: string]: unknown }

export interface Model {
  devices: Card[];
  events: Event_[];
  faultKinds: string[];
  /** Server time minus page time (ms): the timeline runs on the service's clock. */
  offsetMs: number;
  /** Requests per second per device, from the last two device snapshots. */
  rates: Map<string, number>;
  token: string | undefined;
}

export const MAX_EVENTS = 2000;

export function serverNow(model: Model): number {
  return Date.now() + model.offsetMs;
}

/** An element with text only: nothing from the service is ever parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
