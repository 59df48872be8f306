/**
 * Soak: fail-stop faults injected again and again into one running driver, as MINIX 3's
 * reincarnation-server experiments did. The first fault is injected at once; after each one the
 * soak waits for the device's recovery (or a deadline), then a random pause, then injects the
 * next fault, of a random kind, until it is stopped or the device is given up. Counted as data:
 * faults injected (per kind), recoveries seen, faults no recovery followed.
 */
import type { EventEmitter } from 'node:events';
import { faultKinds, type FaultKind, type InjectedFault } from 'shadow-drivers';

export interface SoakTarget {
  device: string;
  /** Injects one fault into the device's driver; throws when it cannot (detached, given up). */
  inject(fault: InjectedFault): void;
  /** Emits 'recovery' and 'gave-up' events carrying `{ device }` (the ShadowManager). */
  events: EventEmitter;
}

export interface SoakOptions {
  random: () => number;
  kinds?: readonly FaultKind[];
  /** The pause after a recovery before the next fault: uniform in [min, max] ms. */
  intervalMs: readonly [number, number];
  /** The longest wait for a fault's recovery before going on with the next one. */
  recoveryWaitMs?: number;
  /** Called after every fault injected, with the count so far. */
  onInject?(count: number): void;
}

export interface SoakCount {
  injected: number;
  byKind: Partial<Record<FaultKind, number>>;
  /** Recoveries of the device that followed a soak fault. */
  recovered: number;
  /** Faults after which no recovery came within the wait (not manifested, or still recovering at the end). */
  unrecovered: number;
  stopReason?: string;
}

export class Soak {
  readonly count: SoakCount = { injected: 0, byKind: {}, recovered: 0, unrecovered: 0 };
  /** The kind of the last fault injected (what a recovery now follows). */
  lastKind: FaultKind | undefined;
  readonly #target: SoakTarget;
  readonly #options: SoakOptions;
  #recoveries = 0;
  #gaveUp = false;
  #stopped = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #onRecovery = (e: { device: string }) => { if (e.device === this.#target.device) { this.#recoveries++; this.#wake?.(); } };
  readonly #onGaveUp = (e: { device: string }) => { if (e.device === this.#target.device) { this.#gaveUp = true; this.#wake?.(); } };

  constructor(target: SoakTarget, options: SoakOptions) {
    this.#target = target;
    this.#options = options;
  }

  /** Injects the first fault now (synchronously) and goes on in the background. */
  start(): void {
    if (this.#loop) return;
    this.#target.events.on('recovery', this.#onRecovery);
    this.#target.events.on('gave-up', this.#onGaveUp);
    this.#loop = this.#run();
  }

  /** Stops injecting; resolves once the soak's loop has ended (no timer left). */
  async stop(): Promise<SoakCount> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    this.#target.events.off('recovery', this.#onRecovery);
    this.#target.events.off('gave-up', this.#onGaveUp);
    return this.count;
  }

  async #run(): Promise<void> {
    const { random, kinds = faultKinds, intervalMs: [min, max], recoveryWaitMs = 3_000 } = this.#options;
    while (!this.#stopped) {
      const kind = kinds[Math.floor(random() * kinds.length)]!;
      const before = this.#recoveries;
      try {
        this.#target.inject({ kind });
      } catch (err) {
        this.count.stopReason = `could not inject: ${(err as Error).message}`;
        return;
      }
      this.lastKind = kind;
      this.count.injected++;
      this.count.byKind[kind] = (this.count.byKind[kind] ?? 0) + 1;
      this.#options.onInject?.(this.count.injected);
      await this.#waitFor(() => this.#recoveries > before || this.#gaveUp, recoveryWaitMs);
      if (this.#recoveries > before) this.count.recovered++;
      else this.count.unrecovered++;
      if (this.#gaveUp) {
        this.count.stopReason = 'the device was given up';
        return;
      }
      await this.#waitFor(() => false, min + random() * (max - min));
    }
  }

  /** Resolves when `done()` holds (checked on every event), the soak stops, or `ms` pass. */
  #waitFor(done: () => boolean, ms: number): Promise<void> {
    if (this.#stopped || done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => { clearTimeout(timer); this.#wake = undefined; resolve(); };
      const timer = setTimeout(finish, ms);
      this.#wake = () => { if (this.#stopped || done()) finish(); };
    });
  }
}
