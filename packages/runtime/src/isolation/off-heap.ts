/**
 * The memory a driver holds outside its JavaScript heap: Buffers and ArrayBuffers. The heap limit
 * (`memoryLimitMb`, a worker's resourceLimits or node's --max-old-space-size) does not bound them,
 * and a worker domain shares the kernel's process: a driver that leaked a Buffer per request
 * would grow the host until the system's out-of-memory killer ended it, every device with it.
 *
 * So each domain watches its own: the buffers its isolate allocated (what the kernel lends, its
 * shared memory, is not counted), checked as calls arrive (at most every CHECK_MS) and on a slow
 * timer for a driver that leaks from its own timers. Past the limit on two checks in a row (one
 * garbage collection's chance to free what is only garbage), the domain reports a `memory`
 * fault and the kernel ends it. A loop that allocates without ever yielding is not seen here: the
 * heartbeat ends it.
 *
 * This catches a driver's bug, as the heap limit does; it is the driver's own code that reads the
 * count. A process domain in a bubblewrap sandbox has a hard limit besides (RLIMIT_DATA,
 * bubblewrap.ts), of the same size.
 */
const MiB = 1024 * 1024;
/** Buffers a domain may hold outside its heap, beyond its heap limit (MiB). */
const SLACK_MB = 192;
/** Checks come no closer than this as calls arrive. */
const CHECK_MS = 250;
/** The slow check, for a domain that receives no calls. */
const IDLE_CHECK_MS = 5000;

/** Bytes of buffers a domain with this heap limit may hold outside its heap. */
export function offHeapLimitBytes(memoryLimitMb: number): number {
  return (memoryLimitMb + SLACK_MB) * MiB;
}

export interface OffHeapWatch {
  /** A call arrived: checks, unless the last check was less than CHECK_MS ago. */
  poke(): void;
}

/**
 * Watches this thread's buffers (its isolate's ArrayBuffer bytes) against `limitBytes`; `over`
 * is called once, with why, when they stay past it.
 */
export function watchOffHeap(limitBytes: number, over: (message: string) => void): OffHeapWatch {
  let last = 0;
  let strikes = 0;
  let done = false;
  const check = (now: number) => {
    last = now;
    const bytes = process.memoryUsage().arrayBuffers;
    strikes = bytes > limitBytes ? strikes + 1 : 0;
    if (strikes < 2) return;
    done = true;
    clearInterval(timer);
    over(`the driver holds ${Math.round(bytes / MiB)} MiB of buffers outside its heap, past its limit of ` +
      `${Math.round(limitBytes / MiB)} MiB (memoryLimitMb + ${SLACK_MB})`);
  };
  const timer = setInterval(() => check(performance.now()), IDLE_CHECK_MS);
  timer.unref();
  return {
    poke() {
      if (done) return;
      const now = performance.now();
      if (now - last >= CHECK_MS) check(now);
    },
  };
}
