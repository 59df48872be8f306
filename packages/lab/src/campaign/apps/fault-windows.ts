/** A trial's fault windows, for applications that judge losses by them. */
import type { AppContext } from './context.js';

/**
 * The fault's windows: from each injection (the trial's `faultTimes`, several in a soak) to the
 * first recovery after it.
 */
export class FaultWindows {
  readonly #recoveries: number[] = [];
  readonly #off: () => void;
  constructor(private readonly context: AppContext) {
    const listener = () => { this.#recoveries.push(Date.now()); };
    context.rt.manager.on('recovery', listener);
    this.#off = () => context.rt.manager.off('recovery', listener);
  }

  /**
   * Each window as [injected, recovered] (Date.now() times). A fault never recovered from has an
   * empty window: a recovery that never came excuses no loss after it.
   */
  spans(): [number, number][] {
    this.#off();
    return (this.context.faultTimes ?? []).map((t) => [t, this.#recoveries.find((r) => r >= t) ?? t]);
  }

  /**
   * Each window extended to the first of `resumed` (times the device delivered again, e.g. its
   * periods) after its recovery: what a recorder cannot have heard.
   */
  spansUntil(resumed: readonly number[]): [number, number][] {
    return this.spans().map(([from, to]) => [from, to === from ? to : resumed.find((t) => t >= to) ?? to]);
  }

  /** Each window's length, ms. */
  lengths(): number[] {
    return this.spans().map(([from, to]) => to - from);
  }

  longestMs(): number {
    return Math.max(0, ...this.lengths());
  }
}
