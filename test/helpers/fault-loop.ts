/**
 * Injects faults into one device, one after another, until stopped: the next only once the
 * previous recovery is over. The pause between them sets the fault rate (it synchronises
 * nothing). A read after each injection gives faults that act on the next call a call to act on.
 */
import { setTimeout as pace } from 'node:timers/promises';
import type { BlockDevice, FaultKind, RecoveryEvent, Runtime } from '../../src/index.js';
import { waitForEvent } from './events.js';

export function faultLoop(rt: Runtime, name: string, disk: BlockDevice, kinds: FaultKind[], pauseMs = 100) {
  const stop = new AbortController();
  const injected: FaultKind[] = [];
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
      await Promise.all([recovered, disk.read(0, 4096)]);
    }
  })();
  return { injected, stop: async () => { stop.abort(); await done; } };
}
