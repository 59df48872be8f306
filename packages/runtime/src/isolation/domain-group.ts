/**
 * Domain groups: several devices' drivers in one worker thread (`domainGroup` in a device's
 * spec). A thread costs 7–8 MiB and 25 ms to start on this kind of machine, and a thread per
 * device makes many devices take turns on few cores; the paper ran one driver for all its
 * devices in one protection domain. So do the devices of a group: one thread, one driver
 * instance per device, each on its own message port (group-entry.ts).
 *
 * What they share is their fate: a failure of any driver in the thread (an exception, a bad
 * kernel call, a hang, the heap limit, a contract breach the kernel saw) ends the thread, and
 * every device in it fails and recovers, each by its own shadow, into the group's next thread.
 * That thread is started ahead (a spare, with the group's drivers already imported), so a
 * recovery does not wait for a thread to start; with `warmStandby`, each device's standby driver
 * is loaded in it too, so a recovery only initializes it. A device that leaves in order (detach, or its
 * old driver after a live update) leaves alone: its instance stops serving and loses its
 * descriptors, and the others go on. The last one out ends the threads.
 *
 * One owner of each piece: the group owns its threads; a thread owns its worker and knows its
 * tenants and their wire; a tenant (one device's view, a Domain) owns its listeners.
 */
import { Worker } from 'node:worker_threads';
import { offHeapLimitBytes } from './off-heap.js';
import { grantsFor, type Domain, type DomainExit, type HostResource } from './domain.js';
import type { GroupControl, GroupUp } from './group-entry.js';
import { Outbox } from './outbox.js';
import { GROUP_BATCH_LIMIT, type ResourceGrant, type ToDomainWire } from './protocol.js';

const entry = new URL('./group-entry.js', import.meta.url);

let nextTenant = 1;
/**
 * How long a group waits after its recoveries' joins before it starts a spare thread (and the
 * manager before it loads the standbys into it): started beside the recoveries, a thread's
 * isolate and imports would take the cores they need.
 */
export const GROUP_SETTLE_MS = 25;
/** How long a thread that is ended while it still imports its drivers is let finish them. */
const BOOT_GRACE_MS = 2000;

/** One worker thread of a group, and the devices' drivers it runs. */
class GroupThread {
  readonly worker: Worker;
  /** The devices' drivers in this thread, by their number on its wire. */
  readonly tenants = new Map<number, TenantDomain>();
  readonly gone: Promise<void>;
  booted = false;
  ending = false;
  #lastError: DomainExit | undefined;
  #bootedNow!: () => void;
  readonly #bootedOrGone = new Promise<void>((resolve) => { this.#bootedNow = resolve; });
  /** Batches for the drivers, sent together: one message per turn (or per eight), not one per device. */
  readonly #outbox = new Outbox<[number, ToDomainWire[]]>(GROUP_BATCH_LIMIT, (items) => {
    if (!this.ending) this.worker.postMessage({ t: 'batches', items } satisfies GroupControl);
  });

  constructor(memoryLimitMb: number, preload: string[], onEnd: (thread: GroupThread) => void) {
    this.worker = new Worker(entry, {
      resourceLimits: { maxOldGenerationSizeMb: memoryLimitMb, maxYoungGenerationSizeMb: 16 },
      workerData: { offHeapLimitBytes: offHeapLimitBytes(memoryLimitMb) },
      stdout: true,
      stderr: true,
    });
    // The drivers' output cannot be told apart in one thread: every device's log gets it.
    this.worker.stdout.setEncoding('utf8').on('data', (chunk: string) => { for (const t of this.tenants.values()) t.output('stdout', chunk); });
    this.worker.stderr.setEncoding('utf8').on('data', (chunk: string) => { for (const t of this.tenants.values()) t.output('stderr', chunk); });
    this.worker.on('error', (err: Error & { code?: string }) => {
      this.#lastError = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { kind: 'memory', message: `${err.message} (a domain shared by ${this.tenants.size} devices)` }
        : { kind: 'exception', message: `${err.message} (a domain shared by ${this.tenants.size} devices)` };
    });
    this.worker.on('message', (m: GroupUp) => this.#receive(m));
    this.gone = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.ending = true;
        this.#bootedNow();
        onEnd(this);
        const exit = this.#lastError ?? { kind: 'exit' as const, message: `the domain shared by ${this.tenants.size} devices ended (code ${code})` };
        const tenants = [...this.tenants.values()];
        this.tenants.clear();
        for (const tenant of tenants) tenant.ended(exit);
        resolve();
      });
    });
    this.control({ t: 'preload', urls: preload });
  }

  /**
   * What the thread sends: its drivers' batches by number, each handed to its device's channel
   * raw (the channel decodes it); a number the kernel does not know (a driver dropped) is
   * ignored, and so is anything that is not an array of pairs.
   */
  #receive(m: GroupUp): void {
    if (m?.t === 'booted') { this.booted = true; this.#bootedNow(); return; }
    if (m?.t !== 'batches' || !Array.isArray(m.items)) return;
    for (const item of m.items) {
      if (!Array.isArray(item)) continue;
      this.tenants.get(item[0] as number)?.deliver(item[1]);
    }
  }

  /** A driver's batch, sent with the others of this turn. */
  post(id: number, batch: ToDomainWire[]): void {
    if (!this.ending) this.#outbox.push([id, batch]);
  }

  /** A control message goes after every batch posted before it (a driver's last call, then its drop). */
  control(message: GroupControl): void {
    if (this.ending) return;
    this.#outbox.flush();
    this.worker.postMessage(message);
  }

  /**
   * Ends the thread. One still importing its drivers is let finish first (within a bound): a
   * thread terminated while its module loader reads a file leaves that file's descriptor open.
   */
  end(): Promise<void> {
    if (!this.ending) {
      this.ending = true;
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, BOOT_GRACE_MS); });
      void Promise.race([this.#bootedOrGone, bound]).then(() => {
        clearTimeout(timer);
        void this.worker.terminate();
      });
    }
    return this.gone;
  }
}

/** One device's driver in a group's thread: a Domain like any other to its channel. */
export class TenantDomain implements Domain {
  readonly kind = 'worker' as const;
  readonly sandbox = 'none' as const;
  readonly sharesMemory = true;
  readonly grants: ResourceGrant[];
  /** The thread had imported its drivers when this device joined it (a recovery paid no start). */
  readonly booted: boolean;
  readonly #id = nextTenant++;
  readonly #thread: GroupThread;
  readonly #group: DomainGroup;
  #ended = false;
  #listener: ((batch: unknown) => void) | undefined;
  #exitListener: ((exit: DomainExit) => void) | undefined;
  #output: ((stream: 'stdout' | 'stderr', chunk: string) => void) | undefined;

  constructor(group: DomainGroup, thread: GroupThread, resources: HostResource[]) {
    this.#group = group;
    this.#thread = thread;
    this.booted = thread.booted;
    // Descriptors are per process: the thread uses the kernel's own numbers.
    this.grants = grantsFor(resources, (_i, r) => r.fd);
    thread.tenants.set(this.#id, this);
    thread.control({ t: 'tenant', id: this.#id });
  }

  send(batch: ToDomainWire[]): void {
    if (!this.#ended) this.#thread.post(this.#id, batch);
  }

  onMessage(listener: (batch: unknown) => void): void {
    this.#listener = listener;
  }

  /** A batch the driver sent (raw: the channel decodes it). */
  deliver(batch: unknown): void {
    if (!this.#ended) this.#listener?.(batch);
  }

  onExit(listener: (exit: DomainExit) => void): void {
    this.#exitListener = listener;
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: string) => void): void {
    this.#output = listener;
  }

  /** The thread ended under this driver (another device's failure, or its own). */
  ended(exit: DomainExit): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#exitListener?.(exit);
  }

  output(stream: 'stdout' | 'stderr', chunk: string): void {
    this.#output?.(stream, chunk);
  }

  /** A failure: the thread ends, and every other device in it fails with it. */
  async kill(): Promise<void> {
    this.#ended = true;
    this.#thread.tenants.delete(this.#id);
    await this.#thread.end();
  }

  /** In order: this driver stops serving and loses its descriptors; the others go on. */
  async release(): Promise<void> {
    if (this.#ended) return this.#thread.ending ? this.#thread.gone : undefined;
    this.#ended = true;
    this.#thread.tenants.delete(this.#id);
    this.#thread.control({ t: 'drop', id: this.#id });
    await this.#group.left();
  }
}

export interface DomainGroupOptions {
  memoryLimitMb: number;
  /** Keep a started thread ready for the next recovery (default true). */
  spare?: boolean;
}

export class DomainGroup {
  readonly name: string;
  readonly memoryLimitMb: number;
  readonly #spare: boolean;
  #current: GroupThread | undefined;
  #next: GroupThread | undefined;
  /** What a thread imports ahead: the drivers (and domain extensions) of the devices that joined. */
  readonly #preload = new Set<string>();
  #closed = false;
  #refillTimer: NodeJS.Timeout | undefined;

  constructor(name: string, options: DomainGroupOptions) {
    this.name = name;
    this.memoryLimitMb = options.memoryLimitMb;
    this.#spare = options.spare ?? true;
  }

  /**
   * A device's driver joins the group: a serving one the serving thread (the spare, which serves
   * from now on, when that one has ended), a standby (`warmStandby`, loaded, not initialized)
   * the spare thread, so that the failure that ends the serving thread leaves it standing.
   * `preload` is what a thread imports ahead.
   */
  join(resources: HostResource[], preload: string[], role: 'serve' | 'standby' = 'serve'): TenantDomain {
    if (this.#closed) throw new Error(`domain group ${this.name} is closed`);
    for (const url of preload) this.#preload.add(url);
    // A serving thread that is ending (a failure, its exit not yet seen) is replaced first, so a
    // standby never joins the thread that is about to serve.
    if (this.#current?.ending) this.#promote();
    if (role === 'standby') {
      if (!this.#next || this.#next.ending) this.#next = this.#start();
      return new TenantDomain(this, this.#next, resources);
    }
    this.#current ??= this.#start();
    const tenant = new TenantDomain(this, this.#current, resources);
    this.#refill();
    return tenant;
  }

  #start(): GroupThread {
    return new GroupThread(this.memoryLimitMb, [...this.#preload], (thread) => this.#ended(thread));
  }

  /** A thread ended (a failure in it, or the group's end): the spare serves from now on. */
  #ended(thread: GroupThread): void {
    if (thread === this.#current) this.#promote();
    else if (thread === this.#next) this.#next = undefined;
  }

  /** The spare thread serves; the next spare is started once the joins have settled. */
  #promote(): void {
    this.#current = this.#next && !this.#next.ending ? this.#next : undefined;
    this.#next = undefined;
    if (this.#current) this.#refill();
  }

  /**
   * A new spare thread, once the joins have settled: started beside a recovery, its start (a
   * new isolate, its imports) would take the cores the devices' recoveries need.
   */
  #refill(): void {
    if (!this.#spare || (this.#next && !this.#next.ending)) return;
    if (this.#refillTimer) this.#refillTimer.refresh();
    else this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined;
      if (!this.#closed && this.#current && !this.#current.ending && (!this.#next || this.#next.ending)) {
        this.#next = this.#start();
      }
    }, GROUP_SETTLE_MS);
  }

  /** Devices whose drivers run in the serving thread. */
  get tenants(): number {
    return this.#current && !this.#current.ending ? this.#current.tenants.size : 0;
  }

  /** Threads: the serving one and the spare (each 0 or 1), and whether the spare has booted. */
  threads(): { serving: number; spare: number; spareBooted: boolean } {
    const live = (t: GroupThread | undefined) => (t && !t.ending ? 1 : 0);
    return { serving: live(this.#current), spare: live(this.#next), spareBooted: this.#next?.booted === true && !this.#next.ending };
  }

  /**
   * A device's driver left in order: the last one out of the group (serving and standby drivers
   * alike) ends its threads. An empty spare thread stays: it is the others' spare.
   */
  async left(): Promise<void> {
    if ((this.#current?.tenants.size ?? 0) > 0 || (this.#next?.tenants.size ?? 0) > 0) return;
    await this.#endThreads(); // a device may join again later: it starts them anew
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#endThreads();
  }

  async #endThreads(): Promise<void> {
    clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
    const threads = [this.#current, this.#next];
    this.#current = undefined;
    this.#next = undefined;
    await Promise.all(threads.map((t) => t?.end()));
  }
}
