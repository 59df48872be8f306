/**
 * Injects faults into one device, one after another, until stopped: the next only once the
 * previous recovery is over. The pause between them sets the fault rate (it synchronises
 * nothing). A call after each injection (a read of a disk, or the given `poke`) gives faults
 * that act on the next call a call to act on.
 */
import { setTimeout as pace } from 'node:timers/promises';
import type { BlockDevice, FaultKind, RecoveryEvent, Runtime } from '../../src/index.js';
import { waitForEvent } from './events.js';

export function faultLoop(rt: Runtime, name: string, target: BlockDevice | (() => Promise<unknown>), kinds: FaultKind[], pauseMs = 100) {
  const poke = typeof target === 'function' ? target : () => target.read(0, 4096);
  const stop = new AbortController();
  const injected: FaultKind[] = [];
  /** When each fault was injected (ms since the epoch): a fault acts before it is detected. */
  const injectedAt: number[] = [];
  const done = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      try {
        await pace(pauseMs + (i * 37) % pauseMs, undefined, { signal: stop.signal });
      } catch {
        break;
      }
      const kind = kinds[i % kinds.length]!;
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name, 20_000);
      rt.inject(name, { kind });
      injected.push(kind);
      injectedAt.push(Date.now());
      await Promise.all([recovered, poke()]);
    }
  })();
  return { injected, injectedAt, stop: async () => { stop.abort(); await done; } };
}
