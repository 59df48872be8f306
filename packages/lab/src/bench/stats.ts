/**
 * Small statistics for the benchmark: quantiles of samples, and a seeded random source (every
 * configuration is given the same random offsets; run orders are reproducible).
 */

/** The q-quantile (0..1) of the samples, by linear interpolation; NaN when there are none. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** The geometric mean (the fair average of ratios); NaN when there are none. */
export function geometricMean(values: readonly number[]): number {
  const usable = values.filter((v) => v > 0 && Number.isFinite(v));
  if (usable.length === 0) return Number.NaN;
  return Math.exp(usable.reduce((sum, v) => sum + Math.log(v), 0) / usable.length);
}

/** A sample set reduced to what the report prints. */
export interface Spread {
  n: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  max: number;
}

export function spread(samples: readonly number[]): Spread {
  return {
    n: samples.length,
    p25: quantile(samples, 0.25),
    p50: quantile(samples, 0.5),
    p75: quantile(samples, 0.75),
    p90: quantile(samples, 0.9),
    p99: quantile(samples, 0.99),
    max: samples.length === 0 ? Number.NaN : Math.max(...samples),
  };
}

/** xorshift32: deterministic, fast, good enough to scatter block offsets. */
export function seededRandom(seed: number): () => number {
  let state = (seed | 0) || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

/** Lets timers, heartbeats and message events run (an in-process driver answers in microtasks). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A copy of `items` in random order (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
