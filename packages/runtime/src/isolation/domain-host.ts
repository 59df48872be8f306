/**
 * The host that runs inside an isolation domain: it loads the driver, turns wire messages into
 * calls on the driver's entry points, and turns the driver's kernel-service calls into wire
 * messages. It trusts nothing the driver does: a throw from an entry point that is not a
 * DeviceError is reported as a failure, and after a failure it serves nothing more.
 */
import { DeviceError, type HelperStatus, type KernelServices, type ResourceGrant } from '../classes/driver-api.js';
import { liveStateEntries } from '../classes/contract.js';
import type { CallInterceptor, DomainExtension, DomainExtensionFactory, DomainHooks } from './domain-extension.js';
import { readAll, writeAll } from './region-io.js';
import { REGION_THRESHOLD, SlotPool, type Slot } from './slot-pool.js';
import { cut, isByteList, totalOf } from './byte-lists.js';
import { writevSync } from 'node:fs';
import { domainBusyPoll, type BusyPoll, type PollTarget } from './busy-poll.js';
import { packReplies, unpackCalls } from './packed.js';
import { toWireError, type FaultKind, type FromDomain, type FromDomainWire, type LoadSpec, type SlotRef, type ToDomain, type ToDomainWire } from './protocol.js';

export interface HostPort {
  /** `transfer`: buffers the driver gave up with a message, moved where the port can (threads). */
  send(batch: FromDomainWire[], transfer: ArrayBuffer[]): void;
  /** Whether the batch is serialized on its way (a thread's port, a process's pipe): then runs of replies are packed (packed.ts). */
  readonly serializes?: boolean;
  exit(code: number): void;
  abort(): void;
}

/** Replies per batch (the kernel's side uses the same limit). */
const BATCH_LIMIT = 8;
/** Output buffers kept for reuse: per length, and how many lengths. */
const SPARE_PER_LENGTH = 64;
const SPARE_LENGTHS = 8;

type Driver = Record<string, (args: unknown, context: { requestId: number }) => unknown>;
type Pending = { resolve(v: unknown): void; reject(e: Error): void };

export class DomainHost {
  readonly #port: HostPort;
  #outbox: FromDomain[] = [];
  #transfer: ArrayBuffer[] = [];
  #flushScheduled = false;
  #driver: Driver | undefined;
  #spec: LoadSpec | undefined;
  #services = new Map<number, Pending>();
  #nextServiceId = 1;
  #timers = new Map<number, () => unknown>();
  #intercept: CallInterceptor | undefined;
  readonly #extensions = new Map<string, DomainExtension>();
  #failed = false;
  /**
   * The output buffer each call was lent in a thread domain (a view of the kernel's shared
   * pool): a result in it is answered by its length (`inSlot`), not sent back as a view.
   */
  readonly #lentOut = new Map<number, Uint8Array>();
  /** The output slot of each call lent one (bulk-region.ts): where its result goes, and the buffer the driver got. */
  readonly #outSlots = new Map<number, { slot: SlotRef; lent: Uint8Array }>();
  /**
   * Output buffers handed out again, by length: as in a worker domain, where the output buffer
   * is a pooled shared slot, a driver does not keep the buffer it filled past its reply.
   */
  readonly #spare = new Map<number, Uint8Array[]>();
  /** The buffers a call's arguments were read into from the region: spare again once it settles. */
  readonly #inputs = new Map<number, Uint8Array[]>();
  /** The driver's own part of a process domain's region, where its upcalls' bytes go. */
  #outbound: SlotPool | undefined;
  /** The thread's busy poller once the driver is loaded (busy-poll.ts), and what it asks of this host. */
  #poll: BusyPoll | undefined;
  #awaitingRequest = false;
  /** Whether the kernel allows this domain to poll now (a `poll` message). */
  #pollAllowed = false;
  /** Calls the driver has not answered yet. */
  #inProgress = 0;
  /** The ids of those calls (ids grow in the order the kernel sent them): what a barrier waits for. */
  readonly #running = new Set<number>();
  /** Barrier calls (flush) waiting for the calls sent before them, in order. */
  #barriersWaiting: { id: number; entry: string; args: unknown }[] = [];
  /** Polled while the driver works on a call (its I/O completes on this loop) and after it replied (the next request). */
  readonly #pollTarget: PollTarget = { owes: () => (this.#awaitingRequest || this.#inProgress > 0) && !this.#failed };

  constructor(port: HostPort) {
    this.#port = port;
  }

  receive(batch: ToDomainWire[]): void {
    this.#awaitingRequest = false;
    this.#poll?.heard(this.#pollTarget);
    for (const message of batch) {
      if (message.t === 'calls') for (const call of unpackCalls(message)) this.#handle(call);
      else this.#handle(message);
    }
  }

  /**
   * The domain is being taken down while its thread lives on (the inline domain): serve
   * nothing more and let the driver let go of what the runtime cannot reclaim for it (sockets,
   * poll loops), through its optional `shutdown()`. Worker and process domains end instead.
   */
  stop(): void {
    this.#failed = true;
    const shutdown = (this.#driver as { shutdown?: unknown } | undefined)?.shutdown;
    if (typeof shutdown !== 'function') return;
    try {
      void Promise.resolve(shutdown.call(this.#driver)).catch(() => undefined);
    } catch {
      // a driver that fails to shut down is being dropped anyway
    }
  }

  /** An exception or rejection escaped the driver, or it misused the kernel's: report it once and serve nothing more. */
  fatal(kind: FaultKind, error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#outbox.push({ t: 'fault', kind, error: toWireError(error) });
    this.#flush();
  }

  #handle(m: ToDomain): void {
    if (m.t === 'ping') return this.#post({ t: 'pong', seq: m.seq });
    if (m.t === 'poll') {
      this.#pollAllowed = m.on;
      return;
    }
    if (m.t === 'preload') {
      void Promise.allSettled(m.urls.map((url) => import(url))).then(() => this.#post({ t: 'pong', seq: m.seq }));
      return;
    }
    if (m.t === 'retire') {
      this.#failed = true;
      this.#flush();
      return this.#port.exit(0);
    }
    if (this.#failed) return;
    switch (m.t) {
      case 'load': void this.#load(m.spec); break;
      case 'call': {
        const args = m.slots ? this.#fromRegion(m.id, m.entry, m.args, m.slots) : m.args;
        if (this.#spec?.barriers?.includes(m.entry) && this.#runningBefore(m.id)) this.#barriersWaiting.push({ id: m.id, entry: m.entry, args });
        else this.#call(m.id, m.entry, args);
        break;
      }
      case 'service-reply': {
        const pending = this.#services.get(m.id);
        this.#services.delete(m.id);
        if (m.ok) pending?.resolve(m.value);
        // A device's failure the driver can pass on as its own answer; anything else a plain error.
        else if (m.device) pending?.reject(new DeviceError(m.error.code ?? 'EIO', m.error.message));
        else pending?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        break;
      }
      case 'extension': this.#extensions.get(m.name)?.receive(m.body); break;
    }
  }

  async #load(spec: LoadSpec): Promise<void> {
    try {
      for (const url of spec.extensions ?? []) {
        const extension = ((await import(url)) as { default: DomainExtensionFactory }).default(this.#hooks());
        this.#extensions.set(extension.name, extension);
      }
      const module = (await import(spec.driver)) as { default?: unknown };
      if (typeof module.default !== 'function') throw new Error(`${spec.driver} has no default export factory`);
      this.#spec = spec;
      if (spec.region?.outbound) this.#outbound = new SlotPool(spec.region.outbound[0], spec.region.outbound[1]);
      if (spec.busyPollUs) this.#poll = domainBusyPoll(spec.busyPollUs);
      this.#driver = module.default(this.#kernelServices()) as Driver;
      const hooks = liveStateEntries.filter((name) => typeof this.#driver?.[name] === 'function');
      this.#post(hooks.length > 0 ? { t: 'loaded', hooks } : { t: 'loaded' });
    } catch (err) {
      this.#post({ t: 'load-failed', error: toWireError(err) });
    }
  }

  /** The arguments the kernel placed in the region, as arrays of the driver's own. */
  #fromRegion(id: number, entry: string, args: unknown, slots: Record<string, SlotRef>): unknown {
    const fd = this.#spec?.region?.fd;
    if (fd === undefined) return args;
    const out: Record<string, unknown> = { ...(args as Record<string, unknown>) };
    const bulk = this.#spec?.bulkOut[entry];
    for (const [key, [offset, length]] of Object.entries(slots)) {
      if (key === bulk?.arg) {
        const lent = this.#spareOf(length);
        this.#outSlots.set(id, { slot: [offset, length], lent });
        out[key] = lent;
      } else {
        const bytes = this.#spareOf(length);
        readAll(fd, bytes, offset);
        // A batch (a transmit's frames) came as one run: the message says where each one ends.
        out[key] = Array.isArray(out[key]) ? split(bytes, out[key]) : bytes;
        const inputs = this.#inputs.get(id);
        if (inputs) inputs.push(bytes); else this.#inputs.set(id, [bytes]);
      }
    }
    return out;
  }

  /** A result into its output slot; false where the region cannot take it (then it rides in the frame). */
  #toRegion(value: Uint8Array, offset: number): boolean {
    try {
      writeAll(this.#spec!.region!.fd, value, offset);
      return true;
    } catch {
      return false; // the region's file system is full, or the driver closed the descriptor
    }
  }

  #releaseInputs(id: number): void {
    const inputs = this.#inputs.get(id);
    if (!inputs) return;
    this.#inputs.delete(id);
    for (const buffer of inputs) this.#keepSpare(buffer);
  }

  #spareOf(length: number): Uint8Array {
    return this.#spare.get(length)?.pop() ?? new Uint8Array(length);
  }

  #keepSpare(buffer: Uint8Array): void {
    const list = this.#spare.get(buffer.length) ?? [];
    if (list.length >= SPARE_PER_LENGTH || (list.length === 0 && this.#spare.size >= SPARE_LENGTHS)) return;
    list.push(buffer);
    this.#spare.set(buffer.length, list);
  }

  #call(id: number, entry: string, args: unknown): void {
    const armed = this.#intercept;
    this.#intercept = undefined;
    if (armed?.swallow) return; // the call is swallowed: the deadline must catch it
    this.#inProgress++;
    this.#running.add(id);
    const bulk = this.#spec?.bulkOut[entry];
    const out = bulk && this.#port.serializes && !this.#spec?.region ? (args as Record<string, unknown> | undefined)?.[bulk.arg] : undefined;
    if (out instanceof Uint8Array && out.buffer instanceof SharedArrayBuffer) this.#lentOut.set(id, out);
    if (this.#pollAllowed) this.#poll?.sent(this.#pollTarget, this.#inProgress);
    let result: unknown;
    try {
      result = entry === '$timer' ? this.#fireTimer(args) : this.#invoke(entry, args, id);
    } catch (err) {
      return this.#settle(id, entry, Promise.reject(err), armed);
    }
    this.#settle(id, entry, result, armed);
  }

  #invoke(entry: string, args: unknown, id: number): unknown {
    const driver = this.#driver;
    const method = driver?.[entry];
    if (typeof method !== 'function') throw new Error(`driver has no entry point ${entry}`);
    if (entry === 'exportState') return exported(() => method.call(driver, undefined, { requestId: id }));
    const bulk = this.#spec?.bulkOut[entry];
    if (bulk && args && typeof args === 'object' && !(bulk.arg in args)) {
      const length = (args as Record<string, number>)[bulk.lengthArg] ?? 0;
      args = { ...args, [bulk.arg]: new Uint8Array(length) };
    }
    return method.call(driver, args, { requestId: id });
  }

  #fireTimer(args: unknown): unknown {
    const callback = this.#timers.get((args as { timerId: number }).timerId);
    return callback?.();
  }

  #settle(id: number, entry: string, result: unknown, armed: CallInterceptor | undefined): void {
    Promise.resolve(result).then(
      (value) => {
        this.#inProgress--;
        this.#settled(id);
        const out = this.#outSlots.get(id);
        this.#outSlots.delete(id);
        const lent = this.#lentOut.get(id);
        this.#lentOut.delete(id);
        this.#releaseInputs(id);
        if (this.#failed) return;
        if (armed?.reply) return armed.reply(id, value, (message) => this.#post(message));
        if (lent && value instanceof Uint8Array && value.buffer === lent.buffer && value.byteOffset === lent.byteOffset && value.length <= lent.length) {
          return this.#post({ t: 'reply', id, ok: true, value: undefined, inSlot: value.length });
        }
        if (out && value instanceof Uint8Array && value.length <= out.slot[1] && this.#toRegion(value, out.slot[0])) {
          if (value === out.lent) this.#keepSpare(value);
          return this.#post({ t: 'reply', id, ok: true, value: undefined, inSlot: value.length });
        }
        if (out && !(value instanceof Uint8Array)) this.#keepSpare(out.lent); // answered otherwise (ReadAt)
        this.#post({ t: 'reply', id, ok: true, value });
      },
      (err: unknown) => {
        this.#inProgress--;
        this.#settled(id);
        this.#outSlots.delete(id);
        this.#lentOut.delete(id);
        this.#releaseInputs(id);
        if (this.#failed) return;
        if (err instanceof Error && err.name === 'DeviceError') {
          this.#post({ t: 'reply', id, ok: false, error: toWireError(err), device: true });
        } else {
          // A throw from an entry point is a driver bug: fail-stop, never a silent error reply.
          this.fatal('exception', err instanceof Error ? err : new Error(`${entry} threw ${String(err)}`));
        }
      },
    );
  }

  #runningBefore(id: number): boolean {
    for (const running of this.#running) if (running < id) return true;
    return false;
  }

  /** A call settled: barriers with nothing sent before them still running start, in order. */
  #settled(id: number): void {
    this.#running.delete(id);
    while (this.#barriersWaiting.length > 0 && !this.#failed) {
      const next = this.#barriersWaiting[0]!;
      if (this.#runningBefore(next.id)) return;
      this.#barriersWaiting.shift();
      this.#call(next.id, next.entry, next.args);
    }
  }

  #service(name: string, args: unknown, transfer?: ArrayBuffer[], slots?: Record<string, SlotRef>): Promise<unknown> {
    const id = this.#nextServiceId++;
    return new Promise((resolve, reject) => {
      this.#services.set(id, { resolve, reject });
      this.#post(slots ? { t: 'service', id, name, args, slots } : { t: 'service', id, name, args }, transfer);
    });
  }

  /** An upcall; in a process domain, a batch of 8 KiB and more (received frames) goes through the region. */
  async #upcall(name: string, args: unknown, transfer: ArrayBuffer[] | undefined): Promise<void> {
    const placed = this.#toOutbound(args);
    if (!placed) {
      await this.#service('upcall', { name, args }, transfer);
      return;
    }
    try {
      await this.#service('upcall', { name, args: placed.args }, undefined, placed.slots);
    } finally {
      // The kernel read the bytes out when the call arrived, before it answered.
      this.#outbound!.give(placed.slot);
    }
  }

  /**
   * The upcall's first list of byte arrays written as one run into the driver's part of the
   * region, and the arguments with their lengths in its place; undefined where it has no
   * such part, no such list, too few bytes, or no room (the bytes then ride in the message).
   */
  #toOutbound(args: unknown): { args: Record<string, unknown>; slots: Record<string, SlotRef>; slot: Slot } | undefined {
    const fd = this.#spec?.region?.fd;
    if (!this.#outbound || fd === undefined || !args || typeof args !== 'object') return undefined;
    for (const [key, value] of Object.entries(args)) {
      if (!isByteList(value)) continue;
      const list = value;
      const total = list.reduce((sum, item) => sum + item.length, 0);
      if (total < REGION_THRESHOLD) return undefined;
      const slot = this.#outbound.take(total);
      if (!slot) return undefined;
      let written = 0;
      try {
        written = writevSync(fd, list, slot.offset);
      } catch {
        // the region's file system is full
      }
      if (written !== total) {
        this.#outbound.give(slot);
        return undefined;
      }
      return { args: { ...(args as Record<string, unknown>), [key]: list.map((item) => item.length) }, slots: { [`args.${key}`]: [slot.offset, total] }, slot };
    }
    return undefined;
  }

  #kernelServices(): KernelServices {
    return {
      register: async (info) => { await this.#service('register', info); },
      acquire: async (name) => (await this.#service('acquire', { name })) as ResourceGrant,
      release: async (name) => { await this.#service('release', { name }); },
      sync: async (name) => { await this.#service('sync', { name }); },
      setTimer: async (ms, callback, options) => {
        const id = (await this.#service('setTimer', { ms, repeat: options?.repeat ?? false })) as number;
        this.#timers.set(id, callback);
        return id;
      },
      clearTimer: async (timerId) => {
        this.#timers.delete(timerId);
        await this.#service('clearTimer', { timerId });
      },
      allocBuffer: async (bytes) => (await this.#service('allocBuffer', { bytes })) as Uint8Array,
      upcall: (name, args, options) => this.#upcall(name, args, givenUp(options?.transfer)),
      log: (level, message) => { void this.#service('log', { level, message }).catch(() => undefined); },
      spawnHelper: async (spec) => (await this.#service('spawnHelper', spec)) as number,
      helperWrite: async (helperId, data) => { await this.#service('helperWrite', { helperId, data }); },
      helperRead: async (helperId, bytes) => (await this.#service('helperRead', { helperId, bytes })) as Uint8Array,
      helperStatus: async (helperId) => (await this.#service('helperStatus', { helperId })) as HelperStatus,
      stopHelper: async (helperId, drain) => { await this.#service('stopHelper', { helperId, drain }); },
    };
  }

  #hooks(): DomainHooks {
    return {
      exit: (code) => this.#port.exit(code),
      abort: () => this.#port.abort(),
      interceptNextCall: (interceptor) => { this.#intercept = interceptor; },
      kernelCall: (name, args) => { void this.#service(name, args).catch(() => undefined); },
    };
  }

  #post(message: FromDomain, transfer?: ArrayBuffer[]): void {
    this.#outbox.push(message);
    if (transfer) for (const buffer of transfer) this.#transfer.push(buffer);
    if (this.#outbox.length >= BATCH_LIMIT) return this.#flush();
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outbox.length === 0) return;
    const batch = this.#outbox;
    // Each buffer once: two upcalls of the batch may have named the same one.
    const transfer = this.#transfer.length > 1 ? [...new Set(this.#transfer)] : this.#transfer;
    this.#outbox = [];
    this.#transfer = [];
    this.#port.send(this.#port.serializes ? packReplies(batch) : batch, transfer);
    // Replies went out: the next request is likely soon (a serial caller, a queue kept full).
    const replies = this.#poll && this.#pollAllowed ? batch.reduce((n, m) => n + (m.t === 'reply' ? 1 : 0), 0) : 0;
    if (replies > 0) {
      this.#awaitingRequest = true;
      this.#poll!.heard(this.#pollTarget);
      this.#poll!.sent(this.#pollTarget, replies + this.#inProgress);
    }
  }
}

/** `bytes` cut into views of the given lengths, in order (their sum is its length). */
function split(bytes: Uint8Array, lengths: unknown): Uint8Array[] {
  if (totalOf(lengths, Number.MAX_SAFE_INTEGER) !== bytes.length) throw new Error('a batch in the region does not match its lengths');
  return cut(bytes, lengths as number[]);
}

/**
 * The buffers a driver gives up with an upcall (`UpcallOptions.transfer`), as a list the
 * message can carry: plain ArrayBuffers only, each once, none already detached. Anything else
 * it named is copied with the message as before; the driver's mistake costs it a copy.
 */
function givenUp(transfer: unknown): ArrayBuffer[] | undefined {
  if (!Array.isArray(transfer) || transfer.length === 0) return undefined;
  const buffers = new Set<ArrayBuffer>();
  for (const buffer of transfer) if (buffer instanceof ArrayBuffer && buffer.byteLength > 0) buffers.add(buffer);
  return buffers.size > 0 ? [...buffers] : undefined;
}

/**
 * exportState's answer, as a value whatever happened: a throw, or a result that cannot cross
 * the boundary, fails the live update (which rolls back), not the old driver, which goes on
 * serving. Sending a function or a symbol would have thrown in this domain's own post.
 */
async function exported(run: () => unknown): Promise<{ ok: true; state: unknown } | { ok: false; problem: string }> {
  try {
    const state = await run();
    structuredClone(state);
    return { ok: true, state };
  } catch (err) {
    return { ok: false, problem: err instanceof Error ? `${err.name}: ${err.message}` : `threw ${String(err)}` };
  }
}
