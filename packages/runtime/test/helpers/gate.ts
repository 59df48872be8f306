/**
 * The test's hold on a gated driver (test/fixtures/drivers/gated.ts) running in an inline
 * domain: each of its calls waits here until the test lets it through, so the test, not the
 * machine's timing, decides when a request reaches the medium, in which order overlapping
 * requests complete, and in which recovery phase a failure strikes (a held `init` is a
 * recovery in re-init, a held `open` one in replay, held I/O during recovery is resubmission).
 */
export interface HeldCall {
  /** The driver instance (one per load: every recovery loads a new one). */
  instance: number;
  entry: string;
  args: unknown;
  release(): void;
}

export class Gate {
  /** Let every call through at once (while the test sets the device up). */
  open = true;
  readonly held: HeldCall[] = [];
  /** The next driver instance fails to load (its module's factory throws): a failed restart. */
  failNextLoad = false;
  /** Loads failed so far (only recoveries load a driver once the device is up). */
  loadsFailed = 0;
  readonly #live = new Set<number>();
  #instances = 0;

  /** A driver instance was loaded. */
  enter(): number {
    const instance = ++this.#instances;
    this.#live.add(instance);
    return instance;
  }

  /**
   * The instance's domain is gone (killed, failed or closed): its held calls are dropped, never
   * released, as a killed domain's requests never reach the device (an inline driver's code
   * would otherwise run on after its domain ended, which no real domain allows).
   */
  leave(instance: number): void {
    this.#live.delete(instance);
    for (let i = this.held.length - 1; i >= 0; i--) if (this.held[i]!.instance === instance) this.held.splice(i, 1);
  }

  live(instance: number): boolean {
    return this.#live.has(instance);
  }

  /** Where a gated call waits. */
  pass(instance: number, entry: string, args: unknown): Promise<void> {
    if (this.open || !this.#live.has(instance)) return Promise.resolve();
    return new Promise((release) => this.held.push({ instance, entry, args, release: () => release() }));
  }

  /** Lets the k-th held call (modulo how many are held) through; false when none is held. */
  release(k: number): HeldCall | undefined {
    if (this.held.length === 0) return undefined;
    const [call] = this.held.splice(k % this.held.length, 1);
    call!.release();
    return call;
  }

  releaseAll(): number {
    const calls = this.held.splice(0);
    for (const call of calls) call.release();
    return calls.length;
  }

  reset(): void {
    this.open = true;
    this.failNextLoad = false;
    this.loadsFailed = 0;
    this.held.length = 0;
    this.#live.clear();
  }
}

/** One gate for the process: the inline domain loads the driver into the test's own module graph. */
export const gate = new Gate();
