/**
 * What the demo hears of its devices: every recovery, failures by how they were detected,
 * drivers given up, and when each device was failing or recovering. A recovery window runs
 * from the injection of a fault (a hang acts long before it is detected) or the detection of
 * a failure nobody injected, whichever came first, to the end of the recovery; what the
 * network may lose in transit is judged against these windows.
 */
import type { EventEmitter } from 'node:events';
import type { FailureKind } from 'shadow-drivers';
import type { FailureEvent, RecoveryEvent } from 'shadow-drivers';

export class DeviceEvents {
  readonly gaveUp = new Map<string, string>();
  readonly #injected = new Map<string, number>();
  readonly #open = new Map<string, number>();
  readonly #closed: { device: string; start: number; end: number }[] = [];
  readonly #recoveries = new Map<string, RecoveryEvent[]>();
  readonly #failures = new Map<string, Partial<Record<FailureKind, number>>>();

  constructor(manager: EventEmitter) {
    manager.on('failure', (e: FailureEvent) => this.#failure(e));
    manager.on('recovery', (e: RecoveryEvent) => {
      this.#end(e.device);
      const list = this.#recoveries.get(e.device) ?? [];
      this.#recoveries.set(e.device, list);
      list.push(e);
    });
    manager.on('gave-up', (e: { device: string; reason: string }) => {
      this.#end(e.device);
      this.gaveUp.set(e.device, e.reason);
    });
  }

  recoveries(device: string): RecoveryEvent[] {
    return this.#recoveries.get(device) ?? [];
  }

  /** The closed recovery windows of `device`, in order (performance.now() times). */
  windows(device: string): { start: number; end: number }[] {
    return this.#closed.filter((w) => w.device === device).map(({ start, end }) => ({ start, end }));
  }

  failures(device: string): Partial<Record<FailureKind, number>> {
    return this.#failures.get(device) ?? {};
  }

  /** A fault was just injected into `device`. */
  injected(device: string): void {
    if (!this.#open.has(device)) this.#injected.set(device, performance.now());
  }

  /** Whether a window of one of `devices` overlaps the time from `from` to `until` (performance.now()). */
  overlaps(devices: string[], from: number, until: number): boolean {
    const hit = (device: string, start: number, end: number) => devices.includes(device) && start <= until && end >= from;
    return this.#closed.some((w) => hit(w.device, w.start, w.end)) || [...this.#open].some(([device, start]) => hit(device, start, Infinity));
  }

  #failure(e: FailureEvent): void {
    const kinds = this.#failures.get(e.device) ?? {};
    this.#failures.set(e.device, kinds);
    kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    if (this.#open.has(e.device)) return;
    this.#open.set(e.device, Math.min(this.#injected.get(e.device) ?? Infinity, performance.now()));
    this.#injected.delete(e.device);
  }

  #end(device: string): void {
    const start = this.#open.get(device);
    if (start === undefined) return;
    this.#open.delete(device);
    this.#closed.push({ device, start, end: performance.now() });
  }
}
