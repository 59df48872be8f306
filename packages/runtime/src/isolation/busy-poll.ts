/**
 * Busy polling across the crossing: the kernel's side (below), the domain's and the NBD
 * export's (at the end of this comment). Off unless the runtime's `busyPollUs` turns it on.
 *
 * A reply from a domain wakes the kernel's thread. If that thread was idle, its core was halted,
 * and waking it (a futex or an eventfd, then the scheduler, and on a virtual machine the
 * hypervisor) costs 50–100 µs on the machines we measure. For a request that takes 5 µs that is
 * most of its latency. It is also most of what a serial caller pays: SQLite's commit makes eight
 * calls, one after another.
 *
 * So after a batch leaves for a domain that owes replies, the kernel's event loop keeps turning
 * (setImmediate, polling its descriptors without sleeping) for a short window. The reply is
 * then picked up on the next turn. Nothing else waits: every other event is handled as usual.
 * This is Linux's `busy_poll` for sockets, in the kernel's event loop.
 *
 * It is adaptive, as the data plane's design asks: a spin only where it pays.
 * - Only for a request alone, or nearly (POLL_DEPTH): a batch shares its wake-up.
 * - Only while few devices are busy (POLL_DEVICES).
 * - A window in which the domain answered is a hit.
 * - A window that ends with nothing heard is a miss: a slow device (a flush to a real disk,
 *   a serial read waiting for input), or a machine too busy to answer in time.
 * - After MISS_LIMIT misses in a row the domain is not polled for REST_MS, then it is tried again;
 *   one more miss rests it again, a hit starts the count over. An idle device costs at most one
 *   window per REST_MS.
 *
 * One poller per runtime serves every device: one chain of setImmediate however many wait.
 *
 * The domain's side does the same (domain-host.ts): after it sends replies it keeps its own
 * event loop turning for the next request, with one poller per thread or process
 * (`domainBusyPoll`), so a driver's thread that is asked again soon is not woken from sleep.
 * The kernel allows it (a `poll` message) only while few devices are busy (POLL_DEVICES,
 * counted as the devices a batch left for in the last few milliseconds): one thread polling is
 * a core; sixteen are a machine. The NBD export (nbd/server.ts) has a poller of its own, for a
 * client's next request after it replied.
 */

import { availableParallelism } from 'node:os';
import { ErrorCodes, ShadowError } from '../errors.js';

/** A device's side of polling: its channel. */
export interface PollTarget {
  /** Whether the domain still owes replies (calls pending). */
  owes(): boolean;
}

/**
 * Requests in flight beyond which no window opens. A wake-up costs the same for one request as
 * for a batch: with many in flight it is shared by all of them, and the polling thread would only
 * take the core another one needs (on 2 cores, a client, the kernel and a driver's thread at
 * queue depth 32 read 9% slower through the export with it).
 */
export const POLL_DEPTH = 2;
/** Misses in a row after which a domain is not polled for a while. */
export const MISS_LIMIT = 4;
/** How long a domain that missed MISS_LIMIT windows in a row is left unpolled. */
export const REST_MS = 250;
/**
 * Devices busy at once beyond which nobody polls: a core is the kernel's, and each device's
 * domain is a thread (or a process) of its own. Sixteen of them polling on 2 cores read 71%
 * slower than sleeping, and with many devices busy the kernel's thread has work without it.
 */
export const POLL_DEVICES = Math.max(1, availableParallelism() - 1);
/**
 * The window unless the runtime is told otherwise: off. Polling trades cores for latency, and
 * on 2 cores it cost a shadowed worker device 30% of its throughput at queue depth 32 (the
 * block bench, 2026-12-07) while it halved latency at queue depth 1. A host that serves a
 * latency-bound caller (a database's commits, a client at queue depth 1) turns it on (200 µs).
 */
export const DEFAULT_BUSY_POLL_US = 0;
/** The longest window allowed: beyond 1 ms a wake-up is cheap next to the wait. */
export const MAX_BUSY_POLL_US = 1000;

/** The window asked for (undefined: the default), checked: a bad one is SD_ERR_INVALID_ARGUMENT, on one line. */
export function busyPollWindow(us: number | undefined): number {
  const window = us ?? DEFAULT_BUSY_POLL_US;
  if (!Number.isInteger(window) || window < 0 || window > MAX_BUSY_POLL_US) {
    throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `busyPollUs must be a whole number of microseconds from 0 to ${MAX_BUSY_POLL_US}, not ${String(window)}`);
  }
  return window;
}

interface Record {
  /** When the current window ends; 0 when not polled. */
  until: number;
  heard: boolean;
  misses: number;
  restUntil: number;
  /** The last BUSY_EPOCH_MS epoch in which a batch left for it. */
  epoch: number;
}

/** How often the count of busy devices starts over. */
const BUSY_EPOCH_MS = 2;

export class BusyPoll {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #records = new Map<PollTarget, Record>();
  /** Targets in a window now. */
  readonly #active = new Set<PollTarget>();
  #armed = false;
  /** Windows opened, ended with an answer (hits), ended without (misses), and rests begun. */
  readonly counts = { windows: 0, hits: 0, misses: 0, rests: 0 };
  /** Devices a batch left for in this epoch, and in the one before. */
  #epoch = 0;
  #busyNow = 0;
  #busyBefore = 0;

  /** `windowUs` 0 turns polling off. `now` in ms (tests give their own). */
  constructor(windowUs: number, now: () => number = () => performance.now()) {
    this.#windowMs = windowUs / 1000;
    this.#now = now;
  }

  get enabled(): boolean {
    return this.#windowMs > 0;
  }

  get windowUs(): number {
    return this.#windowMs * 1000;
  }

  /**
   * A batch left for the target's domain: poll until it answers or the window ends. `depth` is
   * how many requests the batch stands for (in flight, or answered at once): beyond POLL_DEPTH
   * no window opens.
   */
  sent(target: PollTarget, depth = 1): void {
    if (this.#windowMs <= 0 || !target.owes()) return;
    let record = this.#records.get(target);
    const now = this.#now();
    if (!record) this.#records.set(target, record = { until: 0, heard: false, misses: 0, restUntil: 0, epoch: -1 });
    const epoch = this.#rollEpoch(now);
    if (record.epoch !== epoch) {
      record.epoch = epoch;
      this.#busyNow++;
    }
    if (depth > POLL_DEPTH || now < record.restUntil || Math.max(this.#busyNow, this.#busyBefore) > POLL_DEVICES) return;
    if (record.until === 0) {
      record.heard = false;
      this.counts.windows++;
    }
    record.until = now + this.#windowMs;
    this.#active.add(target);
    if (!this.#armed) {
      this.#armed = true;
      setImmediate(this.#tick);
    }
  }

  /** The target's domain answered (any batch from it). */
  heard(target: PollTarget): void {
    const record = this.#records.get(target);
    if (record && record.until > 0) record.heard = true;
  }

  /** The target is gone (its channel closed or failed): nothing of it is kept. */
  forget(target: PollTarget): void {
    this.#records.delete(target);
    this.#active.delete(target);
  }

  /** How many targets are in a window now. */
  get active(): number {
    return this.#active.size;
  }

  /** How many devices a batch left for lately (within the last 2–4 ms): how many are busy. */
  get busy(): number {
    this.#rollEpoch(this.#now());
    return Math.max(this.#busyNow, this.#busyBefore);
  }

  #rollEpoch(now: number): number {
    const epoch = Math.floor(now / BUSY_EPOCH_MS);
    if (epoch !== this.#epoch) {
      this.#busyBefore = epoch === this.#epoch + 1 ? this.#busyNow : 0;
      this.#busyNow = 0;
      this.#epoch = epoch;
    }
    return epoch;
  }

  /** Whether the target is in a window now (for tests and status). */
  polling(target: PollTarget): boolean {
    return this.#active.has(target);
  }

  /** One turn: ends the windows that are over, and keeps the loop awake while any is open. */
  check(): void {
    const now = this.#now();
    for (const target of this.#active) {
      const record = this.#records.get(target)!;
      const answered = !target.owes();
      if (!answered && now < record.until) continue;
      this.#active.delete(target);
      record.until = 0;
      if (record.heard || answered) {
        record.misses = 0;
        this.counts.hits++;
      } else {
        this.counts.misses++;
        if (++record.misses < MISS_LIMIT) continue;
        this.counts.rests++;
        // The count stays at the limit until a hit: after its rest, one more miss rests it again.
        record.restUntil = now + REST_MS;
      }
    }
  }

  readonly #tick = (): void => {
    this.check();
    if (this.#active.size > 0) setImmediate(this.#tick);
    else this.#armed = false;
  };
}

let domainPoll: BusyPoll | undefined;

/**
 * The poller of a domain's thread or process, shared by every driver instance there (a domain
 * group runs many); its window is the first one asked for (every load names the runtime's).
 */
export function domainBusyPoll(windowUs: number): BusyPoll {
  domainPoll ??= new BusyPoll(windowUs);
  return domainPoll;
}
