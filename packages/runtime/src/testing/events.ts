/** Waiting on events with a deadline: tests never sleep. */
import type { EventEmitter } from 'node:events';

export function waitForEvent<T>(emitter: EventEmitter, event: string, match: (value: T) => boolean = () => true,
  deadlineMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${event} event within ${deadlineMs} ms`));
    }, deadlineMs);
    const listener = (value: T) => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(value);
    };
    emitter.on(event, listener);
  });
}

/** Polls a condition until it holds or the deadline passes. */
export async function until(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
