/**
 * What the dashboard shows and may do, independent of who runs the devices: the service
 * (`shadowd run`, through its supervisor) or any program on the public API (a Runtime, e.g.
 * the lab's demo). A source gives device cards, the recent events, a live feed, and the three
 * operator actions (inject a fault, restart, update the driver).
 */
import { allFaultKinds } from '../faults/fault-kinds.js';
import type { FailureEvent, GaveUpEvent, QuarantineEvent, RecoveryEvent, UpdateEvent } from '../observe/channels.js';
import type { Runtime } from '../runtime.js';

export interface DeviceCard {
  device: string;
  class: string;
  driver: string;
  domain: string;
  pid: number | null;
  /** running, recovering, gave-up, starting, detached. */
  state: string;
  uptimeSeconds: number;
  /** Requests served so far, when the source counts them (the page derives the rate). */
  requests: number | null;
  recoveriesByCause: Record<string, number>;
  quarantined: number;
  gaveUp: { at: string; reason: string } | null;
  /** The version the driver runs now (manifest name or module URL), null when detached. */
  version: string | null;
  /** The last live update: its outcome, versions, and cause when it rolled back. */
  lastUpdate: Pick<UpdateReport, 'outcome' | 'from' | 'to' | 'failedIn' | 'cause'> | null;
}

/** What a live update did (Runtime.update's report). */
export type UpdateReport = Awaited<ReturnType<Runtime['update']>>;

/** One failure, recovery, quarantine, give-up, attach or detach; `cause` is the failure's kind. */
export interface DashboardEvent { at: string; type: string; device: string; [field: string]: unknown }

export interface DashboardSource {
  devices(): DeviceCard[];
  recent(): DashboardEvent[];
  /** Calls `listener` for each new event; returns the unsubscribe. */
  subscribe(listener: (event: DashboardEvent) => void): () => void;
  inject(device: string, kind: string): void;
  restart(device: string): void;
  /** A live update to `driver` (a catalogue name or module path): the report once it switched or rolled back. */
  update(device: string, driver: string): Promise<UpdateReport>;
  readonly faultKinds: readonly string[];
  /** The catalogue's driver names per class, offered by the page's update field. */
  driverNames(): Record<string, string[]>;
  close?(): void;
}

const RECENT = 200;

/** The live update's events, shown on the timeline (started and quiesced are steps, not outcomes). */
export const updateEvents = ['update-started', 'update-quiesced', 'update-switched', 'update-rolled-back'] as const;

/** A failure event names its cause `kind`; the page reads `cause` on every event. */
export function normalize(type: string, e: object): DashboardEvent {
  const event = { at: new Date().toISOString(), type, ...e } as DashboardEvent;
  if (type === 'failure') event.cause = (e as FailureEvent).kind;
  return event;
}

export interface RuntimeSourceOptions {
  /** Requests served by a device so far, if the program counts them. */
  requests?: (device: string) => number | undefined;
}

/** A source over a bare Runtime: the manager's statuses and events, counted here. */
export function runtimeSource(runtime: Runtime, options: RuntimeSourceOptions = {}): DashboardSource {
  const seen = new Map<string, { since: number; byCause: Record<string, number>; quarantined: number; gaveUp: DeviceCard['gaveUp'] }>();
  const of = (device: string) => {
    let entry = seen.get(device);
    if (!entry) seen.set(device, entry = { since: Date.now(), byCause: {}, quarantined: 0, gaveUp: null });
    return entry;
  };
  const recent: DashboardEvent[] = [];
  const listeners = new Set<(e: DashboardEvent) => void>();
  const publish = (event: DashboardEvent) => {
    recent.push(event);
    if (recent.length > RECENT) recent.shift();
    for (const listener of listeners) listener(event);
  };
  const handlers: Record<string, (e: never) => void> = {
    failure: (e: FailureEvent) => publish(normalize('failure', e)),
    recovery: (e: RecoveryEvent) => { const s = of(e.device); s.byCause[e.cause] = (s.byCause[e.cause] ?? 0) + 1; publish(normalize('recovery', e)); },
    quarantine: (e: QuarantineEvent) => { of(e.device).quarantined++; publish(normalize('quarantine', e)); },
    'gave-up': (e: GaveUpEvent) => { of(e.device).gaveUp = { at: new Date().toISOString(), reason: e.reason }; publish(normalize('gave-up', e)); },
    ...Object.fromEntries(updateEvents.map((type) => [type, (e: UpdateEvent) => publish(normalize(type, e))])),
  };
  for (const [type, handler] of Object.entries(handlers)) runtime.manager.on(type, handler as (...args: unknown[]) => void);
  return {
    faultKinds: allFaultKinds,
    devices: () => runtime.statuses().map((s) => {
      const own = of(s.device);
      return {
        device: s.device, class: s.className, driver: s.driver, domain: s.domain, pid: s.pid ?? null, state: s.state,
        uptimeSeconds: Math.round((Date.now() - own.since) / 100) / 10, requests: options.requests?.(s.device) ?? null,
        recoveriesByCause: { ...own.byCause }, quarantined: own.quarantined, gaveUp: own.gaveUp,
        version: s.version, lastUpdate: s.lastUpdate ?? null,
      };
    }),
    recent: () => [...recent],
    subscribe(listener) { listeners.add(listener); return () => listeners.delete(listener); },
    inject: (device, kind) => runtime.inject(device, { kind: kind as never }),
    restart: (device) => runtime.restart(device),
    update: (device, driver) => runtime.update(device, { driver }),
    driverNames: () => catalogNames(runtime),
    close() { for (const [type, handler] of Object.entries(handlers)) runtime.manager.off(type, handler as (...args: unknown[]) => void); listeners.clear(); },
  };
}

/** Built-in driver names for the classes of the devices attached, from the runtime's catalogue. */
export function catalogNames(runtime: Runtime): Record<string, string[]> {
  const classes = new Set(runtime.statuses().map((s) => s.className));
  return Object.fromEntries([...classes].map((c) => [c, runtime.manager.catalog.names(c)]));
}
