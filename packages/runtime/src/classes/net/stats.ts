/**
 * NIC statistics, and the hooks that keep them monotonic across driver restarts: a fresh
 * driver counts from zero, so the shadow keeps what earlier instances reported and adds it.
 */
import type { ClassHooks } from '../contract.js';

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
    memory.base = add(memory.base ?? zeroNetStats(), memory.lastRaw ?? zeroNetStats(), memory.sinceQuery ?? zeroNetStats());
    memory.lastRaw = zeroNetStats();
    memory.sinceQuery = zeroNetStats();
  },
  observe(entry, args, result, memory) {
    const since: NetStats = memory.sinceQuery ??= zeroNetStats();
    if (entry === 'transmit') {
      const { frames } = args as { frames: Uint8Array[] };
      const { accepted } = result as { accepted: number };
      for (let i = 0; i < accepted; i++) { since.txFrames++; since.txBytes += frames[i]!.length; }
      since.txDropped += frames.length - accepted;
    } else if (entry === 'stats') {
      memory.lastRaw = { ...(result as NetStats) };
      memory.sinceQuery = zeroNetStats();
    }
  },
  upcall(name, args, memory) {
    if (name !== 'receive') return;
    const since: NetStats = memory.sinceQuery ??= zeroNetStats();
    for (const frame of (args as { frames: Uint8Array[] }).frames) { since.rxFrames++; since.rxBytes += frame.length; }
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
