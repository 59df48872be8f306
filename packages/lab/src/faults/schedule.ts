/**
 * A seeded fault campaign against one device: every fault kind first (in a shuffled order, so
 * each run covers them all), then kinds at random, at exponentially distributed intervals
 * around a mean. One fault at a time: the next is injected only once the device has recovered
 * from the last, so each injected fault is matched with its own recovery (a fault sent into a
 * driver that is still being recovered would hit a domain on its way down and prove nothing).
 */
import type { EventEmitter } from 'node:events';
import type { DomainKind } from 'shadow-drivers';
import type { RecoveryEvent } from 'shadow-drivers';
import { allFaultKinds, faultKinds, type FaultKind, type InjectedFault } from 'shadow-drivers';

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Kinds that kill or stall a whole domain only make sense where the domain is not the host. */
const hostKilling: ReadonlySet<FaultKind> = new Set<FaultKind>(['exit', 'abort', 'kill', 'busy-loop', 'memory']);

/**
 * The fault kinds that can be injected into drivers in a domain of this kind: native ones
 * (a real SIGSEGV) only into a process, which is the only domain the host survives them in.
 */
export function faultsFor(domain: DomainKind): FaultKind[] {
  if (domain === 'process') return [...allFaultKinds];
  return domain === 'none' ? faultKinds.filter((k) => !hostKilling.has(k)) : [...faultKinds];
}

/** What the schedule needs of the runtime: injection, the driver's state, and its events. */
export interface FaultTarget {
  inject(device: string, fault: InjectedFault): void;
  readonly manager: EventEmitter;
  status(device: string): { state: string } | undefined;
}

export interface ScheduleOptions {
  device: string;
  kinds: readonly FaultKind[];
  meanIntervalMs: number;
  random: () => number;
  /** How long a fault may take to be recovered before it counts as unrecovered. */
  recoveryDeadlineMs?: number;
}

export interface ScheduleStats {
  injected: Partial<Record<FaultKind, number>>;
  total: number;
  /** Injected faults that were followed by a recovery of the device. */
  recovered: number;
  /** Injected faults that were not, with the reason. */
  unrecovered: string[];
}

export class FaultSchedule {
  readonly stats: ScheduleStats = { injected: {}, total: 0, recovered: 0, unrecovered: [] };
  readonly #target: FaultTarget;
  readonly #options: Required<ScheduleOptions>;
  #order: FaultKind[];
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lastInjection = 0;

  constructor(target: FaultTarget, options: ScheduleOptions) {
    if (options.kinds.length === 0) throw new Error('a fault schedule needs at least one fault kind');
    this.#target = target;
    this.#options = { recoveryDeadlineMs: 15_000, ...options };
    this.#order = shuffle([...options.kinds], options.random);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#lastInjection = performance.now();
    this.#loop = this.#run();
  }

  /** Injects nothing more; resolves once the last injected fault is recovered (or overdue). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  /** Every kind once, then uniformly at random. */
  nextKind(): FaultKind {
    const planned = this.#order.shift();
    if (planned) return planned;
    const { kinds, random } = this.#options;
    return kinds[Math.floor(random() * kinds.length)]!;
  }

  /** Exponential around the mean, clamped so neither a burst nor a long silence dominates. */
  nextDelayMs(): number {
    const mean = this.#options.meanIntervalMs;
    const draw = -Math.log(1 - this.#options.random()) * mean;
    return Math.min(3 * mean, Math.max(0.2 * mean, draw));
  }

  async #run(): Promise<void> {
    const { device } = this.#options;
    while (this.#running) {
      // Intervals run injection to injection, so the mean holds however long recovery takes.
      await this.#pause(this.#lastInjection + this.nextDelayMs() - performance.now());
      if (!this.#running) return;
      const state = this.#target.status(device)?.state;
      if (state !== 'running') {
        // Recovering from a failure nobody injected (it is matched by its own recovery event).
        if (state === 'recovering' || state === 'starting') { await this.#recovery(); continue; }
        return; // gave up or detached: nothing left to inject into
      }
      const kind = this.nextKind();
      const recovered = this.#recovery();
      this.#target.inject(device, { kind });
      this.#lastInjection = performance.now();
      this.stats.injected[kind] = (this.stats.injected[kind] ?? 0) + 1;
      this.stats.total++;
      const outcome = await recovered;
      if (outcome === 'recovered') this.stats.recovered++;
      else this.stats.unrecovered.push(`${kind}: ${outcome}`);
    }
  }

  /** The device's next recovery, or why there was none. */
  #recovery(): Promise<string> {
    const { manager } = this.#target;
    const { device, recoveryDeadlineMs } = this.#options;
    return new Promise((resolve) => {
      const done = (outcome: string) => {
        clearTimeout(timer);
        manager.off('recovery', onRecovery);
        manager.off('gave-up', onGaveUp);
        resolve(outcome);
      };
      const onRecovery = (e: RecoveryEvent) => { if (e.device === device) done('recovered'); };
      const onGaveUp = (e: { device: string; reason: string }) => { if (e.device === device) done(`gave up (${e.reason})`); };
      const timer = setTimeout(() => done(`no recovery within ${recoveryDeadlineMs} ms`), recoveryDeadlineMs);
      manager.on('recovery', onRecovery);
      manager.on('gave-up', onGaveUp);
    });
  }

  /** A delay that stop() cuts short. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#wake = undefined; resolve(); }, Math.max(0, ms));
      this.#wake = () => { clearTimeout(timer); this.#wake = undefined; resolve(); };
    });
  }
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
