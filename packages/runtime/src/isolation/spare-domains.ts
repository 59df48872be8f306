/**
 * Spare domains shared by every device that asks for a shared standby: threads or processes
 * started, their driver's modules imported, before any device needs one, so a recovery (or an
 * attach) takes one and pays only for instantiating its driver. One pool for many devices, instead of
 * one idle spare per device: on a host with hundreds of devices, memory grows with the devices,
 * not twice over.
 *
 * A spare knows no device until it is taken: its resources are lent then (a worker uses the
 * kernel's own descriptors; a process gets none after its start, so only devices without
 * descriptors take process spares). What is fixed at start is its domain, heap limit, sandbox
 * and the modules it imported (the driver and its extensions), so spares are kept per kind:
 * devices of one driver share theirs. The pool owns its spares until `take` hands one over; whoever takes it
 * owns it from then on. A spare that dies idle is replaced; spares that keep dying while they
 * start are not (the pool stops, and devices start cold), so a broken host cannot spawn in a loop.
 */
import type { Domain, HostResource, Sandbox } from './domain.js';
import { ProcessDomain } from './process-domain.js';
import { WorkerDomain } from './worker-domain.js';

/** A domain that can start before its device is known. */
export type SpareDomain = Domain & {
  /** The device's resources, given when the spare is taken. */
  lend(resources: HostResource[]): void;
  /** Resolves once the entry has imported `preload`; rejects if the domain ends first. */
  booted(preload: string[]): Promise<void>;
};

interface Spare {
  domain: SpareDomain;
  booted: boolean;
  boot: Promise<void>;
}

/** The spares of one kind, and how that kind's starts have gone: each kind stops on its own. */
interface Pool {
  spares: Spare[];
  /** How many are kept: `size`, or fewer when fewer devices would take one (see `prune`). */
  wanted: number;
  /** Spares that died in a row while starting. */
  deaths: number;
  /** Why no spare of this kind is started any more, once they kept dying. */
  stopped: string | undefined;
}

/** What a spare is started with: its domain, heap limit and sandbox, and the modules it imports (driver and extensions). */
export interface SpareKind {
  domain: 'worker' | 'process';
  memoryLimitMb: number;
  preload: string[];
  /** A process domain's walls (the device's driver and config decide them); none for a worker. */
  sandbox?: Sandbox | undefined;
}

/** Spares that died in a row while starting, after which none is started any more. */
const MAX_DEATHS_IN_A_ROW = 3;
/** A spare not booted by then is ended and counts as died while starting (a driver module whose import never ends). */
const BOOT_TIMEOUT_MS = 15_000;

export class SpareDomains {
  readonly #size: number;
  readonly #bootTimeoutMs: number;
  readonly #pools = new Map<string, Pool>();
  readonly #dying = new Set<Promise<void>>();
  #closed = false;

  /** `size` spares are kept per kind asked for (0: none, every start is cold). */
  constructor(size: number, options: { bootTimeoutMs?: number } = {}) {
    this.#size = Math.max(0, Math.floor(size));
    this.#bootTimeoutMs = options.bootTimeoutMs ?? BOOT_TIMEOUT_MS;
  }

  /**
   * A spare of this kind, its resources lent: a booted one, else the one started first (on its
   * way, still ahead of a new one), or undefined when there is none. The taker calls
   * `fill` once it is done with the time-critical part (a recovery): a spare starting beside
   * a recovery takes the core it needs.
   */
  take(kind: SpareKind, resources: HostResource[]): { domain: SpareDomain; booted: boolean } | undefined {
    const list = this.#pool(kind).spares;
    const at = Math.max(0, list.findIndex((s) => s.booted));
    const spare = list[at];
    if (!spare) return undefined;
    spare.domain.lend(resources); // throws for what this kind of domain cannot be lent: the spare stays the pool's
    list.splice(at, 1);
    return { domain: spare.domain, booted: spare.booted };
  }

  /** Starts spares of this kind until as many are kept (booted or starting) as it wants. */
  fill(kind: SpareKind): void {
    const pool = this.#pool(kind);
    if (this.#closed || pool.stopped !== undefined) return;
    while (pool.spares.length < pool.wanted) pool.spares.push(this.#start(kind, pool));
  }

  /**
   * Why spares of this kind are not started any more (they kept dying while they started: a
   * driver module that fails at import), or undefined. Other kinds go on.
   */
  stopped(kind: SpareKind): string | undefined {
    return this.#pool(kind).stopped;
  }

  /**
   * Resolves once the pool of this kind is full and every spare in it has booted (none is
   * starting beside what comes next); rejects when the pool cannot keep them.
   */
  async ready(kind: SpareKind): Promise<void> {
    for (;;) {
      if (this.#closed) throw new Error('the spare domains are closed');
      const pool = this.#pool(kind);
      if (pool.stopped !== undefined) throw new Error(pool.stopped);
      if (this.#size === 0) throw new Error('no spare domains are kept (spareDomains: 0)');
      this.fill(kind);
      const starting = pool.spares.filter((s) => !s.booted);
      if (starting.length === 0) return;
      await Promise.all(starting.map((s) => s.boot.catch(() => undefined)));
    }
  }

  /** Spares waiting (booted) and starting, of every kind: for status and tests. */
  counts(): { booted: number; starting: number } {
    let booted = 0;
    let starting = 0;
    for (const pool of this.#pools.values()) for (const s of pool.spares) (s.booted ? booted++ : starting++);
    return { booted, starting };
  }

  /**
   * `keep` holds one kind per device that takes shared spares. Each kind keeps `size` spares,
   * or one per device when fewer devices would take them: a process spare's sandbox may be its
   * device's own (an `nbd` driver's server socket), and a pool per device must not keep more
   * than the device's own standby would. The spares of every kind not in `keep` end (no device
   * would take them: its driver was updated to another version, or its last device detached),
   * and so do a kind's spares beyond what it keeps.
   */
  prune(keep: SpareKind[]): void {
    const devices = new Map<string, number>();
    for (const kind of keep) {
      this.#pool(kind);
      devices.set(keyOf(kind), (devices.get(keyOf(kind)) ?? 0) + 1);
    }
    for (const [key, pool] of this.#pools) {
      pool.wanted = Math.min(this.#size, devices.get(key) ?? 0);
      if (pool.wanted === 0) this.#pools.delete(key);
      // Those starting go before those booted. Out of the list first: their ends are then
      // nobody's deaths to count or replace.
      const surplus = [...pool.spares.filter((sp) => !sp.booted), ...pool.spares.filter((sp) => sp.booted)]
        .slice(0, Math.max(0, pool.spares.length - pool.wanted));
      for (const spare of surplus) {
        pool.spares.splice(pool.spares.indexOf(spare), 1);
        this.#end(spare.domain);
      }
    }
  }

  /** Ends a spare the pool owned; close() waits for it. */
  #end(domain: SpareDomain): void {
    const gone = domain.kill();
    this.#dying.add(gone);
    void gone.finally(() => this.#dying.delete(gone));
  }

  /** Ends every spare the pool still owns; resolves when they are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    this.prune([]);
    await Promise.all(this.#dying);
  }

  #pool(kind: SpareKind): Pool {
    const key = keyOf(kind);
    let pool = this.#pools.get(key);
    if (!pool) this.#pools.set(key, (pool = { spares: [], wanted: this.#size, deaths: 0, stopped: undefined }));
    return pool;
  }

  #start(kind: SpareKind, pool: Pool): Spare {
    const list = pool.spares;
    const options = { resources: [], memoryLimitMb: kind.memoryLimitMb, sandbox: kind.domain === 'process' ? kind.sandbox : undefined };
    const domain: SpareDomain = kind.domain === 'process' ? new ProcessDomain(options) : new WorkerDomain(options);
    const booted = domain.booted(kind.preload);
    // A boot that never ends (a driver module whose import loops) ends the spare while the pool
    // still owns it, and its boot rejects; a taken one is its channel's (the load deadline).
    const timer = setTimeout(() => { if (list.includes(spare)) void domain.kill(); }, this.#bootTimeoutMs);
    const spare: Spare = { domain, booted: false, boot: booted.finally(() => clearTimeout(timer)) };
    const lost = () => {
      const at = list.indexOf(spare);
      if (at < 0) return false; // taken: its new owner watches it now
      list.splice(at, 1);
      this.#end(domain);
      return true;
    };
    spare.boot.then(() => {
      spare.booted = true;
      pool.deaths = 0;
      // Taken before it booted: its new owner listens for its end, not the pool.
      if (!list.includes(spare)) return;
      // Dead while it waited (killed from outside, out of memory): replaced once.
      domain.onExit(() => { if (lost()) this.fill(kind); });
    }, () => {
      if (!lost()) return;
      if (++pool.deaths >= MAX_DEATHS_IN_A_ROW) {
        pool.stopped = `${pool.deaths} spare domains in a row ended while they started: devices of this driver start cold`;
        return;
      }
      this.fill(kind);
    });
    return spare;
  }
}

const keyOf = (kind: SpareKind): string =>
  JSON.stringify([kind.domain, kind.memoryLimitMb, kind.preload, kind.domain === 'process' ? kind.sandbox ?? null : null]);
