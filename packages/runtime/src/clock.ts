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

/**
 * Timers of the system clock not yet fired or cancelled. The repeating ones are unref'd, so
 * the event loop's own list of active resources does not show them: the test kit's leak check
 * counts them here (a failed driver's repeating kernel timer once outlived close()).
 */
let live = 0;

export function liveClockTimers(): number {
  return live;
}

function counted(clear: () => void): Cancel {
  live++;
  let done = false;
  return { cancel: () => { if (!done) { done = true; live--; clear(); } } };
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const handle = setTimeout(() => { cancel.cancel(); fn(); }, ms);
    const cancel = counted(() => clearTimeout(handle));
    return cancel;
  },
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return counted(() => clearInterval(handle));
  },
};
