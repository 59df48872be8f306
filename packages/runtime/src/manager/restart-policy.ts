/**
 * When to restart a failed driver, and when to give up. A small pure module: time comes from
 * an injected clock, randomness from an injected source.
 *
 * - The first restart after a stable period is immediate (most faults are transient).
 * - Further restarts back off exponentially from `baseDelayMs`, capped at `maxDelayMs`, with
 *   +/- `jitter` so drivers failing together do not restart in lockstep.
 * - A driver that stayed up for `stableAfterMs` is forgiven: the next restart is immediate.
 * - Budget (Erlang/OTP's vocabulary): more than `intensity` failures within `periodMs` and
 *   the driver is given up.
 * - A recovery whose new drivers keep failing before they serve (`maxAttempts` restarts in a
 *   row) gives up too: backoff alone would keep it under the budget, retrying forever.
 * - So does a device whose drivers keep failing with requests in hand and none completed
 *   (`maxWithoutProgress` in a row): it serves nothing, only slowly.
 */
export interface RestartPolicyOptions {
  intensity: number;
  periodMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** 0..1: each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
  stableAfterMs: number;
  /** Restarts in a row within one recovery (each new driver failed before serving) before giving up. */
  maxAttempts: number;
  /**
   * Drivers in a row that were given requests and failed without completing one: the device
   * makes no progress (a stream whose position never advances, a request that kills every
   * driver without being the same one each time), however slowly backoff spaces the failures.
   */
  maxWithoutProgress: number;
  /**
   * The same failure (kind, call and message), each time by a driver that failed before it was
   * stable, this many times in a row: a deterministic bug that restarting cannot outlive.
   */
  maxRepeated: number;
}

export const defaultRestartPolicy: RestartPolicyOptions = {
  intensity: 30,
  periodMs: 10_000,
  baseDelayMs: 10,
  maxDelayMs: 2_000,
  jitter: 0.2,
  stableAfterMs: 500,
  maxAttempts: 10,
  maxWithoutProgress: 6,
  maxRepeated: 16,
};

export type RestartDecision =
  | { action: 'restart'; delayMs: number; attempt: number }
  | { action: 'give-up'; reason: string };

export class RestartPolicy {
  readonly options: RestartPolicyOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  #failures: number[] = [];
  #consecutive = 0;
  #upSince: number | undefined;
  #lastSignature: string | undefined;
  #repeated = 0;

  constructor(options: Partial<RestartPolicyOptions>, now: () => number, random: () => number = Math.random) {
    this.options = { ...defaultRestartPolicy, ...options };
    this.#now = now;
    this.#random = random;
  }

  /**
   * A failure happened: restart after `delayMs`, or give up. `signature` names a new failure of
   * a serving driver (not a failed attempt within a recovery), to see the same bug repeat.
   */
  onFailure(signature?: string): RestartDecision {
    const now = this.#now();
    const { intensity, periodMs, stableAfterMs } = this.options;
    this.#failures = this.#failures.filter((t) => now - t < periodMs);
    this.#failures.push(now);
    if (this.#failures.length > intensity) {
      return { action: 'give-up', reason: `${this.#failures.length} failures within ${periodMs} ms (intensity ${intensity})` };
    }
    const stable = this.#upSince !== undefined && now - this.#upSince >= stableAfterMs;
    if (stable) this.#consecutive = 0;
    this.#upSince = undefined;
    if (signature !== undefined) {
      this.#repeated = !stable && signature === this.#lastSignature ? this.#repeated + 1 : 1;
      this.#lastSignature = signature;
      if (this.#repeated >= this.options.maxRepeated) {
        return { action: 'give-up', reason: `the same failure ${this.#repeated} times in a row, each driver failing before it was stable: ${signature}` };
      }
    }
    const attempt = ++this.#consecutive;
    return { action: 'restart', delayMs: this.delayFor(attempt), attempt };
  }

  /** The backoff before the `attempt`-th restart in a row: 0 for the first, then exponential with jitter. */
  delayFor(attempt: number): number {
    if (attempt <= 1) return 0;
    const { baseDelayMs, maxDelayMs, jitter } = this.options;
    const raw = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 2));
    const factor = 1 + jitter * (2 * this.#random() - 1);
    return Math.max(0, Math.min(maxDelayMs, raw * factor));
  }

  /** The driver is serving again. */
  onRecovered(): void {
    this.#upSince = this.#now();
  }
}
