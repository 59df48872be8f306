/**
 * Stalls of the demo's own host process: times its event loop did not run for a while (the
 * machine busy with other work, a garbage collection). The kernel-side hardware of the virtual
 * devices runs on this loop too, so a stall is a measured cause for a gap outside any recovery
 * window: the card's clock ran on while nothing could feed it.
 */
export interface Stall { start: number; end: number }

/** A 10 ms tick; one at least 5 ms late counts its lateness as a stall. */
const TICK_MS = 10;
const STALL_MS = 5;
/**
 * How far before a gap the host's stalls count: a stream runs dry when its writer has fallen
 * behind by a buffer's worth, so the delays that starve it come before the silence.
 */
export const LOOKBACK_MS = 250;

export class HostStalls {
  readonly stalls: Stall[] = [];
  readonly #timer: NodeJS.Timeout;
  #last = performance.now();

  constructor() {
    this.#timer = setInterval(() => {
      const now = performance.now();
      const late = now - this.#last - TICK_MS;
      if (late >= STALL_MS) this.stalls.push({ start: this.#last + TICK_MS, end: now });
      this.#last = now;
    }, TICK_MS);
    this.#timer.unref();
  }

  /** How long the host stood still within [start, end] (performance.now() times), ms. */
  stalledMs(start: number, end: number): number {
    return this.stalls.reduce((ms, s) => ms + Math.max(0, Math.min(s.end, end) - Math.max(s.start, start)), 0);
  }

  /**
   * A gap the host's own stalls explain: it stood still, in the gap or just before it, at least
   * as long as the gap lasted.
   */
  explains(gap: { ms: number; endedAt: number }): boolean {
    return this.stalledMs(gap.endedAt - gap.ms - LOOKBACK_MS, gap.endedAt) >= gap.ms;
  }

  get longestMs(): number {
    return Math.max(0, ...this.stalls.map((s) => s.end - s.start));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
