/**
 * NIC statistics, and the hooks that keep them monotonic across driver restarts: a fresh
 * driver counts from zero, so the shadow keeps what earlier instances reported and adds it.
 */
import type { ClassHooks } from '../contract.js';
import { countsProblem, Tally } from '../tally.js';

export interface NetStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames the receive filter refused (not for this address, group not joined, too long). */
  rxFiltered: number;
  /** Frames the hardware could not take (its queue was full) or could not send. */
  txDropped: number;
}

export const zeroNetStats = (): NetStats => ({ rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, rxFiltered: 0, txDropped: 0 });

const COUNTED = ['rxFrames', 'rxBytes', 'txFrames', 'txBytes', 'rxFiltered', 'txDropped'] as const satisfies readonly (keyof NetStats)[];
/** What is wrong with a driver's `stats` answer (tally.ts's countsProblem), or undefined. */
export const netStatsProblem = (answer: unknown): string | undefined => countsProblem(answer, COUNTED, 'stats');
const RX_FRAMES = 0, RX_BYTES = 1, TX_FRAMES = 2, TX_BYTES = 3, RX_FILTERED = 4, TX_DROPPED = 5;

/**
 * NIC statistics as they are counted: what a driver keeps for its `stats` answer, and what the
 * shadow counts between two answers. Counted in a tally (tally.ts), which stays fast past 2^30
 * bytes where the fields of a `NetStats` object would not.
 */
export class NetCounters {
  readonly #tally = new Tally<keyof NetStats>(COUNTED);

  /** Frames handed to the medium: the first `accepted` of them went, the rest were dropped. */
  transmitted(frames: readonly Uint8Array[], accepted: number): void {
    const n = this.#tally.counts;
    for (let i = 0; i < accepted; i++) { n[TX_FRAMES]++; n[TX_BYTES] += frames[i]!.length; }
    n[TX_DROPPED] += frames.length - accepted;
  }

  received(frame: Uint8Array): void {
    const n = this.#tally.counts;
    n[RX_FRAMES]++;
    n[RX_BYTES] += frame.length;
  }

  /** A frame the receive filter refused. */
  filtered(): void {
    this.#tally.counts[RX_FILTERED]++;
  }

  stats(): NetStats {
    return this.#tally.toObject();
  }

  clear(): void {
    this.#tally.clear();
  }
}

const sinceQuery = (memory: Record<string, any>): NetCounters => (memory.sinceQuery ??= new NetCounters());

function add(...all: NetStats[]): NetStats {
  const out = zeroNetStats();
  for (const s of all) for (const k of Object.keys(out) as (keyof NetStats)[]) out[k] += s[k] ?? 0;
  return out;
}

/**
 * The shadow counts what it sees cross the boundary since the last `stats` answer (frames
 * transmitted, frames received by upcall); when the driver fails, its last answer plus those
 * counts become the base the next instance's counts are added to.
 */
export const netStatsHooks: ClassHooks = {
  failed(memory) {
    const since = sinceQuery(memory);
    memory.base = add(memory.base ?? zeroNetStats(), memory.lastRaw ?? zeroNetStats(), since.stats());
    memory.lastRaw = zeroNetStats();
    since.clear();
  },
  observe(entry, args, result, memory) {
    if (entry === 'transmit') {
      sinceQuery(memory).transmitted((args as { frames: Uint8Array[] }).frames, (result as { accepted: number }).accepted);
    } else if (entry === 'stats') {
      memory.lastRaw = { ...(result as NetStats) };
      sinceQuery(memory).clear();
    }
  },
  upcall(name, args, memory) {
    if (name !== 'receive') return;
    const since = sinceQuery(memory);
    for (const frame of (args as { frames: Uint8Array[] }).frames) since.received(frame);
  },
  patch(entry, _args, result, memory) {
    if (entry !== 'stats') return result;
    const patched = add(memory.base ?? zeroNetStats(), result as NetStats);
    const floor: NetStats = memory.reported ?? zeroNetStats();
    for (const k of Object.keys(patched) as (keyof NetStats)[]) patched[k] = Math.max(patched[k], floor[k]);
    memory.reported = { ...patched };
    return patched;
  },
};
