/**
 * NIC statistics, and the hooks that keep them monotonic across driver restarts: a fresh
 * driver counts from zero, so the shadow keeps what earlier instances reported and adds it.
 */
import type { ClassHooks } from '../contract.js';
import { Tally } from '../tally.js';

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

/** What the shadow counts between `stats` answers, and where in its tally (tally.ts). */
const COUNTED = ['rxFrames', 'rxBytes', 'txFrames', 'txBytes', 'rxFiltered', 'txDropped'] as const satisfies readonly (keyof NetStats)[];
const RX_FRAMES = 0, RX_BYTES = 1, TX_FRAMES = 2, TX_BYTES = 3, TX_DROPPED = 5;
const sinceQuery = (memory: Record<string, any>): Tally<keyof NetStats> => (memory.sinceQuery ??= new Tally(COUNTED));

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
    memory.base = add(memory.base ?? zeroNetStats(), memory.lastRaw ?? zeroNetStats(), since.toObject());
    memory.lastRaw = zeroNetStats();
    since.clear();
  },
  observe(entry, args, result, memory) {
    const since = sinceQuery(memory).counts;
    if (entry === 'transmit') {
      const { frames } = args as { frames: Uint8Array[] };
      const { accepted } = result as { accepted: number };
      for (let i = 0; i < accepted; i++) { since[TX_FRAMES]++; since[TX_BYTES] += frames[i]!.length; }
      since[TX_DROPPED] += frames.length - accepted;
    } else if (entry === 'stats') {
      memory.lastRaw = { ...(result as NetStats) };
      sinceQuery(memory).clear();
    }
  },
  upcall(name, args, memory) {
    if (name !== 'receive') return;
    const since = sinceQuery(memory).counts;
    for (const frame of (args as { frames: Uint8Array[] }).frames) { since[RX_FRAMES]++; since[RX_BYTES] += frame.length; }
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
