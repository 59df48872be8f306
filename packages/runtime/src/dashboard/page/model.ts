/** What the page keeps: the devices as last pushed, the events seen, and the clock offset. */
export interface Card {
  device: string; class: string; driver: string; domain: string; pid: number | null; state: string;
  uptimeSeconds: number; requests: number | null; recoveriesByCause: Record<string, number>;
  quarantined: number; gaveUp: { at: string; reason: string } | null;
  version: string | null; lastUpdate: { outcome: string; from: string; to: string; failedIn?: string; cause?: string } | null;
}

export interface Event_ { at: string; type: string; device: string; cause?: string; totalMs?: number; phases?: Record<string, number>; [field: string]: unknown }

export interface Model {
  devices: Card[];
  events: Event_[];
  faultKinds: string[];
  /** The catalogue's driver names per class (the update field offers them). */
  drivers: Record<string, string[]>;
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

/** A version as people read it: a module URL by its file name. */
export function shortVersion(version: string): string {
  return version.startsWith('file:') || version.startsWith('data:') ? version.slice(version.lastIndexOf('/') + 1) || version : version;
}

/** An element with text only: nothing from the service is ever parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
