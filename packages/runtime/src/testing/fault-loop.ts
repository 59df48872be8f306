/**
 * Injects faults into one device, one after another, until stopped: the next only once the
 * previous recovery is over. The pause between them sets the fault rate (it synchronises
 * nothing). A call after each injection (a read of a disk, or the given `poke`) gives faults
 * that act on the next call a call to act on.
 */
import { setTimeout as pace } from 'node:timers/promises';
import type { BlockDevice, FailureEvent, FaultKind, RecoveryEvent, Runtime } from '../index.js';
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
      // What failed meanwhile, to say why a recovery is overdue.
      const failures: string[] = [];
      const onFailure = (e: FailureEvent) => {
        if (e.device === name) failures.push(`${e.kind}${e.duringRecovery ? ' (during recovery)' : ''}: ${e.message}`);
      };
      rt.manager.on('failure', onFailure);
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name, 20_000).catch((error: Error) => {
        throw new Error(`${kind} (fault ${i + 1}): ${error.message}; state ${rt.status(name)?.state}; `
          + `failures since: ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? ` and ${failures.length - 5} more` : ''}`);
      });
      rt.inject(name, { kind });
      injected.push(kind);
      injectedAt.push(Date.now());
      try {
        await Promise.all([recovered, poke()]);
      } finally {
        rt.manager.off('failure', onFailure);
      }
    }
  })();
  // Said at once: a device that never recovers can leave the application (and the test)
  // waiting. `failed` rejects when the loop fails, so a test can race its work against it.
  const failed = new Promise<never>((_, reject) => {
    done.catch((error: Error) => {
      console.error(`# fault loop on ${name} failed: ${error.message}`);
      reject(error);
    });
  });
  failed.catch(() => undefined);
  return { injected, injectedAt, failed, stop: async () => { stop.abort(); await done; } };
}
