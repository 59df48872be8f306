/**
 * Loading libext2fs (WebAssembly) once, on first use, and calling it one operation at a time.
 *
 * - Its Emscripten glue installs process-wide `uncaughtException` and `unhandledRejection`
 *   listeners that rethrow: an embedding library has no business deciding that, so the
 *   listeners it added are removed again after loading.
 * - Its fs layer keeps per-call state in module globals between awaits: two calls in flight
 *   at once (even on two filesystems) could free each other's buffers. Every call goes
 *   through `serially`, which runs one at a time, process-wide.
 */
import type { EventEmitter } from 'node:events';
import type * as Ext2fs from 'ext2fs';

let loading: Promise<typeof Ext2fs> | undefined;
let tail: Promise<unknown> = Promise.resolve();

export function loadExt2fs(): Promise<typeof Ext2fs> {
  loading ??= (async () => {
    const events = ['uncaughtException', 'unhandledRejection'];
    const emitter = process as EventEmitter;
    const before = events.map((event) => new Set(emitter.listeners(event)));
    try {
      const module = await import('ext2fs');
      return (module as { default?: typeof Ext2fs }).default ?? module;
    } finally {
      events.forEach((event, i) => {
        for (const listener of emitter.listeners(event)) {
          if (!before[i]!.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
        }
      });
    }
  })();
  return loading;
}

/** Runs `call` after every call started before it has settled. */
export function serially<T>(call: () => Promise<T>): Promise<T> {
  const result = tail.then(call, call);
  tail = result.catch(() => undefined);
  return result;
}
