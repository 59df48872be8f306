/**
 * Time as a dependency. The manager, the restart policy and the channels take a Clock, so
 * unit tests drive them with a fake one and never sleep.
 */
export interface Cancel {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Runs `fn` once after `ms`; keeps the process alive until then. */
  after(ms: number, fn: () => void): Cancel;
  /** Runs `fn` every `ms`; does not keep the process alive on its own. */
  every(ms: number, fn: () => void): Cancel;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(handle) };
  },
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
};
