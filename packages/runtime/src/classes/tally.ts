/**
 * Counts a shadow keeps for its class between two `stats` answers (requests and bytes seen
 * crossing), so that statistics never go backwards across driver restarts.
 *
 * The counts live in a Float64Array, not in the fields of an object: byte counts pass 2^30
 * within a second at memory speed, and a field that turns from a small integer into a double
 * changes the shape shared by every device's counts under the JIT's code. Measured with plain
 * fields: one idle shadowed `ram` disk beside another cost the busy one a third of its 64 KiB
 * throughput, for as long as the process ran.
 */
export class Tally<K extends string> {
  readonly keys: readonly K[];
  /** One count per key, in the order of `keys`. */
  readonly counts: Float64Array;

  constructor(keys: readonly K[]) {
    this.keys = keys;
    this.counts = new Float64Array(keys.length);
  }

  /** The counts as an object of the class's statistics type. */
  toObject(): Record<K, number> {
    const out = {} as Record<K, number>;
    this.keys.forEach((key, i) => { out[key] = this.counts[i]!; });
    return out;
  }

  clear(): void {
    this.counts.fill(0);
  }
}

/**
 * What is wrong with a driver's statistics answer, or undefined: every key of the class's
 * statistics must be a count (a non-negative safe integer). A count that is a string, NaN or
 * negative would otherwise reach the shadow's sums and the application.
 */
export function countsProblem(answer: unknown, keys: readonly string[], entry: string): string | undefined {
  if (typeof answer !== 'object' || answer === null) return `${entry} returned ${answer === null ? 'null' : typeof answer}`;
  for (const key of keys) {
    const v = (answer as Record<string, unknown>)[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `${entry} returned ${key} ${String(v).slice(0, 40)}, not a count`;
  }
  return undefined;
}
