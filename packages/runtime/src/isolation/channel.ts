/**
 * The kernel's end of the wire to one driver instance: request/reply with ids, deadlines per
 * call, a heartbeat, output checks against the class contract, and bulk data placement.
 *
 * Failure is fail-stop and happens once: the domain is killed, every pending call is rejected
 * with the DriverFailure (so the shadow can take it over) and the failure listener is told.
 * Nothing is ever left pending: every call has a deadline, and a dead domain settles all.
 */
import { barriersOf, liveStateEntry, type ClassContract } from '../classes/contract.js';
import { classifyError, type GoneProbe } from '../classes/error-table.js';
import { DriverFailure, ErrorCodes, ShadowError, type FailureKind } from '../errors.js';
import type { Clock } from '../clock.js';
import type { Domain } from './domain.js';
import type { SharedPool } from './shared-pool.js';
import { REGION_THRESHOLD, type Slot } from './bulk-region.js';
import { cut, isByteList, totalOf } from './byte-lists.js';
import { toWireError, type FromDomain, type LoadSpec, type SlotRef, type ToDomain } from './protocol.js';
import { POLL_DEVICES, type BusyPoll, type PollTarget } from './busy-poll.js';
import { decodeBatch } from './decode.js';
import { packCalls } from './packed.js';
import { isReadAt, isTakeInput, isWriteAt, type ReadAt, type WriteAt } from '../classes/driver-api.js';
import { copyBytes } from '../driver/bytes.js';

export interface ChannelOptions {
  contract: ClassContract;
  driverUrl: string;
  /** Domain extensions to load beside the driver (URLs). */
  extensions: string[];
  clock: Clock;
  /**
   * How often the watchdog checks the domain (deadlines, silence), and how long the domain may
   * stay silent (no pong, no message). A domain silent for a sixth of the timeout is pinged.
   */
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  /** Multiplies every entry point's deadline (slow machines, debugging). */
  deadlineScale: number;
  /** Shared memory for bulk data (thread domains); one pool serves a device's incarnations. */
  pool: SharedPool;
  /** The kernel's own check that the device's resources are still there (error-table.ts). */
  gone: GoneProbe;
  /**
   * Reads up to `max` bytes of input waiting on the device's resource `name`, on the kernel's
   * own descriptor (EntryPoint.takesInputFrom); undefined when the device has no such resource.
   * Throws the system call's error.
   */
  takeInput?(name: string, max: number): Uint8Array | undefined;
  /**
   * Copies the device memory `name` at `at` into `into` (EntryPoint.readsFrom): undefined when
   * done, or what is wrong with the request (a resource the device lacks or the driver does not
   * hold, a range outside it). Throws the system call's error.
   */
  readMemory?(name: string, at: number, into: Uint8Array): string | undefined;
  /** Copies `data` into the device memory `name` at `at` (EntryPoint.writesTo); as readMemory. */
  writeMemory?(name: string, at: number, data: Uint8Array): string | undefined;
  /** The runtime's busy poller (busy-poll.ts): replies are picked up without waking the kernel's thread. */
  busyPoll?: BusyPoll;
}

export interface ChannelHandlers {
  /** A kernel-service call from the driver; a thrown error fails the driver (bad kernel call). */
  service(name: string, args: unknown): Promise<unknown>;
  failed(failure: DriverFailure): void;
  /** The device itself is gone (the kernel's check confirmed a driver's or a service's ENXIO). */
  deviceGone(reason: string): void;
  /**
   * A reply the driver sent after the kernel had declared it failed, while its domain still ran:
   * the call was already rejected for recovery, but what the reply carries may be gone from the
   * device (a serial read took bytes off the line). Given to the class; never to the caller.
   */
  late?(entry: string, args: unknown, value: unknown): void;
  /**
   * A kernel-service call the kernel accepted and never answered, because the driver failed or
   * was killed before the answer left: a driver that waited for it did not go on.
   */
  unanswered?(name: string, args: unknown): void;
}

interface PendingCall {
  entry: string;
  args: unknown;
  /** Pooled shared memory lent to this call, taken back when it completes. */
  lent: Uint8Array[] | undefined;
  /** Slots of the domain's region lent to this call (process domains), and which one is its output. */
  slots: Slot[] | undefined;
  outSlot: Slot | undefined;
  /** The caller's own output buffer (a read's `into`), filled from the reply. */
  into: Uint8Array | undefined;
  /** The pooled buffer lent as the call's output in a thread domain, where an `inSlot` answer is. */
  lentOut?: Uint8Array;
  deadline: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const LOAD_TIMEOUT_MS = 15_000;
/** Arrays one region slot of a service call may be cut into (a receive upcall has at most 256 frames). */
const MAX_SLOT_PIECES = 4096;
/** How long a failed driver whose late replies are kept may take to end by itself before it is killed. */
const RETIRE_GRACE_MS = 250;
/** Messages per batch; measured best at queue depth 32 on two cores. */
export const BATCH_LIMIT = 8;

/**
 * A driver may send at most this many messages of its own per window (pongs, kernel-service
 * calls, logs): far above any device's need, far below a flood. Replies are not counted: each
 * answers a call the kernel made, and one for no call fails the driver (an in-process `ram` disk
 * answers 4 KiB reads 400k times a second).
 */
const RATE_WINDOW_MS = 250;
const MAX_MESSAGES_PER_WINDOW = 100_000;
/** Kernel-service calls a driver may have unanswered at once. */
const MAX_SERVICES_IN_FLIGHT = 4096;

const FAULT_WORDS: Record<Extract<FromDomain, { t: 'fault' }>['kind'], string> = {
  exception: 'threw', rejection: 'left a rejection unhandled', 'bad-kernel-call': 'touched what the kernel owns',
  memory: 'outgrew its memory',
};

export const CALLBACK_ENTRIES: Record<string, { deadlineMs: number }> = { $timer: { deadlineMs: 1000 } };

export class DriverChannel {
  readonly domain: Domain;
  readonly #options: ChannelOptions;
  readonly #handlers: ChannelHandlers;
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #outbox: ToDomain[] = [];
  #flushScheduled = false;
  #failure: DriverFailure | undefined;
  #closed = false;
  #watchdog: { cancel(): void } | undefined;
  #pingSeq = 0;
  /** When the domain was last heard from (a pong, or any message: see #receiveBatch). */
  #lastPong = 0;
  #loaded: { resolve(): void; reject(e: Error): void } | undefined;
  /** Until the domain has loaded the driver, the load deadline applies, not the heartbeat. */
  #loadDeadline: number | undefined;
  #requestsIssued = 0;
  #requestsCompleted = 0;
  #rateWindowStart = 0;
  /** Calls pending at the failure, whose replies are still taken until the domain is gone. */
  #late: Map<number, PendingCall> | undefined;
  #rateCount = 0;
  /** Kernel-service calls of this driver not answered yet. */
  #servicesInFlight = 0;
  /** Live update's optional entry points this driver has (as it said when loaded). */
  #hooks = new Set<string>();
  /** The kernel sent the domain SIGKILL: it runs no more, and nothing more is sent to it. */
  #killed = false;
  /** Service answers waiting in the outbox, with the call they answer. */
  readonly #answers = new Map<ToDomain, { name: string; args: unknown }>();
  /** Who waits for this driver to hold no call (a live update's quiesce). */
  #idleWaiters: (() => void)[] = [];
  /** What the busy poller asks of this channel: whether its domain still owes replies. */
  readonly #pollTarget: PollTarget = { owes: () => this.#pending.size > 0 && !this.#failure && !this.#closed };
  /** What the domain was last told about polling on its side (a `poll` message). */
  #domainPolls = false;

  constructor(domain: Domain, options: ChannelOptions, handlers: ChannelHandlers) {
    this.domain = domain;
    this.#options = options;
    this.#handlers = handlers;
    domain.onMessage((raw) => this.#receiveBatch(raw));
    domain.onExit((exit) => this.fail(new DriverFailure(exit.kind, exit.message)));
  }

  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** Loads the driver module into the domain; rejects with a `load` failure. */
  load(): Promise<void> {
    const bulkOut = Object.fromEntries(Object.entries(this.#options.contract.entries)
      .flatMap(([name, e]) => (e.bulkOut ? [[name, e.bulkOut]] : [])));
    const region = this.domain.region;
    const spec: LoadSpec = {
      driver: this.#options.driverUrl, bulkOut, barriers: [...barriersOf(this.#options.contract)], resources: this.domain.grants, extensions: this.#options.extensions,
      ...(region ? { region: { fd: region.fd, sizeBytes: region.kernel.sizeBytes, outbound: region.kernel.outbound } } : {}),
      // An inline driver runs on the kernel's thread, whose own poller already keeps it awake.
      ...(this.domain.kind !== 'none' && this.#options.busyPoll?.enabled ? { busyPollUs: this.#options.busyPoll.windowUs } : {}),
    };
    this.#loadDeadline = this.#options.clock.now() + LOAD_TIMEOUT_MS;
    this.#startWatchdog();
    return new Promise<void>((resolve, reject) => {
      this.#loaded = { resolve, reject };
      this.#post({ t: 'load', spec });
    });
  }

  call(entry: string, args: unknown): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ShadowError(ErrorCodes.CLOSED, 'the driver channel is closed', { outcome: 'not-executed' }));
    const declared = this.#options.contract.entries[entry] ?? CALLBACK_ENTRIES[entry] ??
      (this.#hooks.has(entry) ? liveStateEntry(this.#options.contract, entry) : undefined);
    if (!declared) return Promise.reject(new ShadowError(ErrorCodes.NOT_FOUND, `no entry point ${entry}`));
    const id = this.#nextId++;
    if ((declared as { kind?: string }).kind === 'request') this.#requestsIssued++;
    const deadline = this.#options.clock.now() + declared.deadlineMs * this.#options.deadlineScale;
    return new Promise((resolve, reject) => {
      const call: PendingCall = { entry, args, deadline, resolve, reject, lent: undefined, into: undefined, slots: undefined, outSlot: undefined };
      this.#pending.set(id, call);
      const slots: Record<string, SlotRef> = {};
      const placed = this.#placeBulk(entry, args, call, slots);
      this.#post(call.slots ? { t: 'call', id, entry, args: placed, slots } : { t: 'call', id, entry, args: placed });
    });
  }

  /**
   * Kills the driver's process from outside (a drill of `kill -9`): once the signal is sent it
   * runs no more, so what the kernel would answer it after that is never acted on. Its end is
   * then reported as any exit is. Domains that cannot be signalled fail at once.
   */
  kill(): void {
    const domain = this.domain as Domain & { signal?(signal: NodeJS.Signals): void };
    if (!domain.signal) return this.fail(new DriverFailure('exit', 'driver domain killed from outside'));
    this.#killed = true;
    this.#dropAnswers();
    domain.signal('SIGKILL');
  }

  /** Sends a message to a domain extension (the fault injector, when installed). */
  toExtension(name: string, body: unknown): void {
    this.#post({ t: 'extension', name, body });
  }

  /** Requests (the class's `request` entry points) sent to this driver, and those it completed. */
  get progress(): { issued: number; completed: number } {
    return { issued: this.#requestsIssued, completed: this.#requestsCompleted };
  }

  /** Whether the driver has one of live update's optional entry points (exportState, importState). */
  hasHook(entry: string): boolean {
    return this.#hooks.has(entry);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Resolves once this driver holds no call, or has failed or closed (every call then has its
   * outcome). Woken by the reply that empties it: a poll would add up to its period to a live
   * update's pause, while applications wait at the tap.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => { this.whenIdle(resolve); });
  }

  /**
   * `idle()` as a callback, run synchronously by the reply that empties the channel (or at once):
   * before any continuation of that reply can issue another call. Returns its cancel.
   */
  whenIdle(callback: () => void): () => void {
    if (this.#pending.size === 0 || this.#failure || this.#closed) {
      callback();
      return () => undefined;
    }
    this.#idleWaiters.push(callback);
    return () => { this.#idleWaiters = this.#idleWaiters.filter((w) => w !== callback); };
  }

  #wakeIdle(): void {
    if (this.#idleWaiters.length === 0 || (this.#pending.size > 0 && !this.#failure && !this.#closed)) return;
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** Fail-stop. Idempotent: only the first failure counts. */
  fail(failure: DriverFailure): void {
    if (this.#failure || this.#closed) return;
    if (failure.call === undefined && this.#pending.size > 0) {
      // Name the call that was running: the oldest one still pending.
      const oldest = this.#pending.values().next().value!;
      failure = new DriverFailure(failure.kind, failure.message, oldest.entry, failure.cause);
    }
    this.#failure = failure;
    this.#dropAnswers();
    this.#teardown(failure);
    this.#handlers.failed(failure);
  }

  /** Orderly end (device closed, or the instance is being replaced after a failure). */
  async close(): Promise<void> {
    if (!this.#closed && !this.#failure) {
      this.#closed = true;
      this.#teardown(new ShadowError(ErrorCodes.CLOSED, 'the device was closed'));
    }
    this.#closed = true;
    await (this.#failure === undefined && this.domain.release ? this.domain.release() : this.domain.kill());
  }

  #teardown(reason: Error): void {
    this.#options.busyPoll?.forget(this.#pollTarget);
    this.#watchdog?.cancel();
    this.#watchdog = undefined;
    if (this.#handlers.late && this.#options.contract.hooks.late && this.#pending.size > 0 && !this.#closed) this.#late = new Map(this.#pending);
    // The domain reports its end once every message it sent was received: no late reply after.
    // Where late replies are kept, the domain is asked to end by itself first (Domain.kill).
    // Not a driver that stopped answering: it would not take the message, only delay its end.
    const answers = !(reason instanceof DriverFailure) || (reason.kind !== 'no-heartbeat' && reason.kind !== 'hang' && reason.kind !== 'memory');
    // A shared domain (domain-group.ts) is left in order when this driver is closed, not failed.
    const ending = !(reason instanceof DriverFailure) && this.domain.release
      ? this.domain.release() : this.domain.kill(this.#late && answers ? RETIRE_GRACE_MS : undefined);
    void ending.then(() => { this.#late = undefined; });
    this.#loaded?.reject(reason);
    this.#loaded = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(this.#closedOutcome(call, reason));
    this.#wakeIdle();
  }

  /**
   * Everything a domain sends arrives here first: decoded (a malformed batch is a contract
   * failure of this driver) and counted (a driver that floods the kernel with messages, faster
   * than any device needs, is a failure too, before it can starve the other devices).
   */
  #receiveBatch(raw: unknown): void {
    if (this.#late && this.#failure) return this.#receiveLate(raw); // retiring (closed) after its failure, still taken
    if (this.#failure || this.#closed) return;
    const decoded = decodeBatch(raw);
    if (!decoded.ok) return this.fail(new DriverFailure('contract', `malformed message from the driver: ${decoded.problem}`));
    const now = this.#options.clock.now();
    if (now - this.#rateWindowStart >= RATE_WINDOW_MS) { this.#rateWindowStart = now; this.#rateCount = 0; }
    for (const m of decoded.messages) if (m.t !== 'reply') this.#rateCount++;
    if (this.#rateCount > MAX_MESSAGES_PER_WINDOW) {
      return this.fail(new DriverFailure('contract', `the driver sent over ${MAX_MESSAGES_PER_WINDOW} messages within ${RATE_WINDOW_MS} ms (a flood)`));
    }
    // Any message is a sign of life: a domain that is answering calls needs no ping as well.
    this.#lastPong = now;
    this.#options.busyPoll?.heard(this.#pollTarget);
    for (const m of decoded.messages) this.#receive(m);
  }

  /**
   * A call the driver had when the device was closed: an honest outcome, as for any request
   * that could not be carried out (one with side effects may have been, in part).
   */
  #closedOutcome(call: PendingCall, reason: Error): Error {
    if (!(reason instanceof ShadowError) || reason.code !== ErrorCodes.CLOSED) return reason;
    const declared = this.#options.contract.entries[call.entry];
    const outcome = declared?.sideEffects === false ? 'not-executed' : 'indeterminate';
    return new ShadowError(ErrorCodes.CLOSED, `${call.entry}: ${reason.message} while the driver had it`, { outcome });
  }

  #receive(m: FromDomain): void {
    if (this.#failure || this.#closed) return;
    switch (m.t) {
      case 'pong': this.#lastPong = this.#options.clock.now(); return;
      case 'loaded':
        this.#hooks = new Set(m.hooks);
        this.#loadDeadline = undefined;
        this.#lastPong = this.#options.clock.now();
        this.#loaded?.resolve();
        this.#loaded = undefined;
        return;
      case 'load-failed':
        return this.fail(new DriverFailure('load', `driver failed to load: ${m.error.message}`));
      case 'fault':
        return this.fail(new DriverFailure(m.kind, `driver ${FAULT_WORDS[m.kind]}: ${m.error.message}`));
      case 'service': {
        if (!m.slots) return this.#service(m.id, m.name, m.args);
        const args = this.#fromOutbound(m.args, m.slots);
        if (typeof args === 'string') return this.fail(new DriverFailure('bad-kernel-call', `${m.name}: ${args}`, m.name));
        return this.#service(m.id, m.name, args);
      }
      case 'reply': this.#reply(m); return this.#wakeIdle();
    }
  }

  /** After the failure: only replies to calls pending at it, well-formed and within the contract. */
  #receiveLate(raw: unknown): void {
    const decoded = decodeBatch(raw);
    if (!decoded.ok) return;
    for (const m of decoded.messages) {
      if (m.t !== 'reply' || !m.ok) continue;
      const call = this.#late!.get(m.id);
      this.#late!.delete(m.id);
      if (!call) continue;
      let value = m.value;
      if (m.inSlot !== undefined) {
        // Not into the caller's buffer: the call was already rejected and may have been resubmitted.
        const taken = this.#fromSlot(call, m.inSlot, undefined);
        if (typeof taken === 'string') continue;
        value = taken;
      }
      if (isReadAt(value) || isWriteAt(value)) continue; // the call may be resubmitted: nothing to copy for it now
      if (this.#options.contract.entries[call.entry]?.check?.(call.args, value)) continue;
      if (value instanceof Uint8Array && value.buffer instanceof SharedArrayBuffer) value = value.slice();
      this.#handlers.late!(call.entry, call.args, value);
    }
  }

  /**
   * The kernel takes the input a driver saw waiting: up to `want` bytes, never more than the
   * call asked for (`args.length`). A breach (a string) fails the driver; the device's own
   * error goes to the caller.
   */
  #take(from: string, want: number, args: unknown): Uint8Array | ShadowError | string {
    const asked = (args as { length?: unknown } | undefined)?.length;
    if (want < 1 || typeof asked !== 'number' || want > asked) return `asked the kernel to take ${want} bytes for a call of ${String(asked)}`;
    let bytes: Uint8Array | undefined;
    try {
      bytes = this.#options.takeInput?.(from, want);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') return new Uint8Array(0);
      return new ShadowError(ErrorCodes.IO, `device error: taking input from ${from}: ${(err as Error).message}`, { cause: err });
    }
    return bytes ?? `asked the kernel to take input from ${from}, which this device does not have`;
  }

  /**
   * The kernel copies a read's bytes out of device memory where the driver said they are:
   * `args.length` of them at `at`, into the caller's buffer (or a new one). A breach (a string)
   * fails the driver; the device's own error goes to the caller.
   */
  #readAt(call: PendingCall, answer: ReadAt): Uint8Array | ShadowError | string {
    const length = (call.args as { length?: unknown } | undefined)?.length;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) return `answered from ${answer.from} for a call of no length`;
    if (!Number.isSafeInteger(answer.at) || answer.at < 0) return `answered from ${answer.from} at ${String(answer.at)}, not an offset`;
    const read = this.#options.readMemory;
    if (!read) return `answered from ${answer.from}, and this device has no memory the kernel reads`;
    const into = !call.into || call.into.length < length ? new Uint8Array(length) : call.into.length === length ? call.into : call.into.subarray(0, length);
    try {
      return read(answer.from, answer.at, into) ?? into;
    } catch (err) {
      return new ShadowError(ErrorCodes.IO, `device error: reading ${answer.from}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The kernel copies a write's bytes (the call's own, `args[arg]`) into device memory at `at`; as #readAt. */
  #writeAt(call: PendingCall, arg: string, answer: WriteAt): undefined | ShadowError | string {
    const data = (call.args as Record<string, unknown> | undefined)?.[arg];
    if (!(data instanceof Uint8Array)) return `answered to ${answer.to} for a call without bytes`;
    if (!Number.isSafeInteger(answer.at) || answer.at < 0) return `answered to ${answer.to} at ${String(answer.at)}, not an offset`;
    const write = this.#options.writeMemory;
    if (!write) return `answered to ${answer.to}, and this device has no memory the kernel writes`;
    try {
      return write(answer.to, answer.at, data);
    } catch (err) {
      return new ShadowError(ErrorCodes.IO, `device error: writing ${answer.to}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Whether the kernel's own step for a reply ended the call: a breach (a string) fails the
   * driver (the call stays pending, rejected by the teardown), the device's error rejects it.
   */
  #stopped(id: number, call: PendingCall, result: unknown): result is string | ShadowError {
    if (typeof result === 'string') {
      this.#pending.set(id, call);
      this.fail(new DriverFailure('contract', `${call.entry} ${result}`, call.entry));
      return true;
    }
    if (result instanceof ShadowError) {
      this.#release(call);
      call.reject(result);
      return true;
    }
    return false;
  }

  #reply(m: Extract<FromDomain, { t: 'reply' }>): void {
    const call = this.#pending.get(m.id);
    if (!call) {
      const issued = m.id > 0 && m.id < this.#nextId;
      return this.fail(new DriverFailure('contract', issued
        ? `second completion for request ${m.id}` : `completion for unknown request ${m.id}`));
    }
    this.#pending.delete(m.id);
    if (!m.ok) {
      if (!m.device) return this.fail(new DriverFailure('exception', m.error.message, call.entry));
      const verdict = classifyError(this.#options.contract, 'reply', m.error, this.#options.gone);
      if (verdict.kind === 'driver') {
        this.#pending.set(m.id, call);
        return this.fail(new DriverFailure(verdict.failure, `${call.entry} ${verdict.message}`, call.entry));
      }
      this.#release(call);
      if (verdict.kind === 'gone') {
        call.reject(new ShadowError(ErrorCodes.DEVICE_GONE, `the device is gone: ${verdict.reason}`, { cause: m.error, outcome: 'indeterminate' }));
        return this.#handlers.deviceGone(verdict.reason);
      }
      return call.reject(new ShadowError(ErrorCodes.IO, `device error: ${m.error.message}`, { cause: m.error }));
    }
    let value = m.value;
    if (m.inSlot !== undefined) {
      const taken = this.#fromSlot(call, m.inSlot, call.into);
      if (typeof taken === 'string') {
        this.#pending.set(m.id, call);
        return this.fail(new DriverFailure('contract', `${call.entry} ${taken}`, call.entry));
      }
      value = taken;
    }
    const declared = this.#options.contract.entries[call.entry];
    // The caller's own bytes already (its buffer filled, or a fresh array): nothing to take back.
    let own = m.inSlot !== undefined;
    // Answers that leave the kernel a step to take on its own side: a copy from or to device
    // memory, input to take off the device.
    if (declared?.readsFrom && isReadAt(value)) {
      const read = this.#readAt(call, value);
      if (this.#stopped(m.id, call, read)) return;
      value = read;
      own = true;
    }
    if (declared?.writesTo !== undefined && isWriteAt(value)) {
      const written = this.#writeAt(call, declared.writesTo, value);
      if (this.#stopped(m.id, call, written)) return;
      value = undefined;
    }
    const from = declared?.takesInputFrom;
    if (from !== undefined && isTakeInput(value)) {
      const taken = this.#take(from, value.take, call.args);
      if (this.#stopped(m.id, call, taken)) return;
      value = taken;
    }
    const breach = declared?.check?.(call.args, value);
    if (breach) {
      // The caller's promise is rejected by the teardown with the failure, like every other.
      this.#pending.set(m.id, call);
      return this.fail(new DriverFailure('contract', breach, call.entry));
    }
    if (declared?.kind === 'request') this.#requestsCompleted++;
    if (own) {
      this.#release(call);
      return call.resolve(value);
    }
    call.resolve(call.lent || call.into || call.slots ? this.#takeBack(call, value) : value);
  }

  /**
   * A result the driver put in the call's output slot: read straight into `target` (the
   * caller's buffer) or a new one, after checking it is a slot this call was lent and the bytes are there.
   */
  #fromSlot(call: PendingCall, length: number, target: Uint8Array | undefined): Uint8Array | string {
    const lent = call.lentOut;
    if (lent) {
      // A thread domain: the answer is in the pooled buffer the call was lent.
      if (length > lent.length) return `answered ${length} bytes in a buffer of ${lent.length}`;
      const into = outputOf(target, length);
      copyBytes(into, 0, lent.subarray(0, length));
      return into;
    }
    const slot = call.outSlot;
    const region = this.domain.region?.kernel;
    if (!slot || !region) return 'answered in a region slot it was not lent';
    if (length > slot.length) return `answered ${length} bytes in a slot of ${slot.length}`;
    const into = outputOf(target, length);
    try {
      if (region.get(slot.offset, into)) return into;
    } catch {
      // the region is gone with the domain: as short as can be
    }
    return 'answered in a slot the region no longer holds (the driver truncated it)';
  }

  /**
   * A service call's arguments with the bytes its slots name read out of the driver's own part
   * of the region (copied now, before anything looks at them: the driver may write there again
   * once it has the answer), each slot cut into arrays by the lengths the message holds in its
   * place. A slot outside that part, or lengths that do not add up to it, is a problem.
   */
  #fromOutbound(args: unknown, slots: Record<string, SlotRef>): unknown {
    const region = this.domain.region?.kernel;
    if (!region) return 'its arguments name region slots, and it has no region';
    if (!args || typeof args !== 'object' || Array.isArray(args)) return 'its arguments are not an object';
    const inner = (args as Record<string, unknown>).args;
    if (!inner || typeof inner !== 'object' || Array.isArray(inner)) return 'the arguments its slots name are not an object';
    const out: Record<string, unknown> = { ...(inner as Record<string, unknown>) };
    const [start, size] = region.outbound;
    for (const [path, [offset, length]] of Object.entries(slots)) {
      if (offset < start || offset + length > start + size) return `a slot outside its part of the region (${offset}+${length})`;
      const key = path.slice('args.'.length);
      const lengths = Object.hasOwn(out, key) ? out[key] : undefined;
      const sum = totalOf(lengths, MAX_SLOT_PIECES);
      if (typeof sum === 'string') return `${key}: ${sum}`;
      if (sum !== length) return `${key}: lengths of ${sum} bytes for a slot of ${length}`;
      // Not zeroed first: every byte is copied over at once (allocUnsafeSlow's memory is its own, never the pool's).
      const bytes = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
      try {
        if (!region.get(offset, bytes)) return 'a slot the region no longer holds (the driver truncated it)';
      } catch {
        return 'a slot the region no longer holds';
      }
      out[key] = cut(bytes, lengths as number[]);
    }
    return { ...(args as Record<string, unknown>), args: out };
  }

  /** Shared memory and region slots lent to a call go back once it has its answer. */
  #release(call: PendingCall): void {
    if (call.lent) for (const view of call.lent) this.#options.pool.give(view);
    call.lent = undefined;
    const region = this.domain.region?.kernel;
    if (call.slots && region) for (const slot of call.slots) region.give(slot);
    call.slots = undefined;
    call.outSlot = undefined;
  }

  /** The application gets its own copy (or its lent buffer, filled); slots go back to the pool. */
  #takeBack(call: PendingCall, value: unknown): unknown {
    let result = value;
    if (value instanceof Uint8Array && call.into && value !== call.into) {
      const into = call.into.length === value.length ? call.into : call.into.subarray(0, value.length);
      copyBytes(into, 0, value);
      result = into;
    } else if (value instanceof Uint8Array && value.buffer instanceof SharedArrayBuffer) {
      result = value.slice(); // a plain (non-shared) Uint8Array the application owns
    }
    this.#release(call);
    return result;
  }

  #service(id: number, name: string, args: unknown): void {
    if (this.#servicesInFlight >= MAX_SERVICES_IN_FLIGHT) {
      return this.fail(new DriverFailure('bad-kernel-call', `over ${MAX_SERVICES_IN_FLIGHT} kernel-service calls unanswered at once`, name));
    }
    this.#servicesInFlight++;
    let answer: Promise<unknown>;
    try {
      answer = this.#handlers.service(name, args);
    } catch (err) {
      // Refused at once: the driver fails before the rest of its batch is looked at.
      this.#servicesInFlight--;
      return this.#serviceRefused(id, name, err);
    }
    answer.then(
      (value) => {
        this.#servicesInFlight--;
        if (this.#failure || this.#closed || this.#killed) return this.#handlers.unanswered?.(name, args);
        const answer: ToDomain = { t: 'service-reply', id, ok: true, value };
        this.#answers.set(answer, { name, args });
        this.#post(answer);
      },
      (err: unknown) => {
        this.#servicesInFlight--;
        this.#serviceRefused(id, name, err);
      },
    );
  }

  #serviceRefused(id: number, name: string, err: unknown): void {
    if (this.#failure || this.#closed) return; // a failed driver gets no answers
    if (err instanceof DriverFailure) return this.fail(err);
    if (err instanceof ShadowError) {
      // Kernel-side refusal that is not the driver's fault (e.g. the kernel is closing).
      return this.#post({ t: 'service-reply', id, ok: false, error: toWireError(err) });
    }
    const error = toWireError(err);
    const verdict = classifyError(this.#options.contract, 'service', error, this.#options.gone);
    if (verdict.kind === 'driver') return this.fail(new DriverFailure(verdict.failure, `${name}: ${verdict.message}`, name, err));
    // The device failed the service (a sync that hit EIO): the driver's answer to give, not its bug.
    this.#post({ t: 'service-reply', id, ok: false, error, device: true });
    if (verdict.kind === 'gone') this.#handlers.deviceGone(verdict.reason);
  }

  /**
   * Shared memory where the domain allows it (threads); slots of the domain's region where it
   * has one (processes: the bytes go in `slots`, not in the message); exact-size copies where
   * it must serialize.
   */
  #placeBulk(entry: string, args: unknown, call: PendingCall, slots: Record<string, SlotRef>): unknown {
    if (!args || typeof args !== 'object' || this.domain.kind === 'none') return args;
    const shared = this.domain.sharesMemory;
    const pool = this.#options.pool;
    const region = this.domain.region?.kernel;
    const lend = (length: number): Uint8Array => {
      const view = pool.take(length);
      (call.lent ??= []).push(view);
      return view;
    };
    const slotFor = (length: number, data?: Uint8Array | Uint8Array[]): Slot | undefined => {
      if (!region || !Number.isSafeInteger(length) || length < REGION_THRESHOLD) return undefined;
      const slot = region.take(length);
      if (!slot) return undefined;
      if (data) {
        try {
          if (data instanceof Uint8Array) region.put(slot, data);
          else for (let i = 0, at = 0; i < data.length; at += data[i]!.length, i++) region.put(slot, data[i]!, at);
        } catch {
          // The region's file system is full (ENOSPC on /dev/shm): the bytes go in the frame.
          region.give(slot);
          return undefined;
        }
      }
      (call.slots ??= []).push(slot);
      return slot;
    };
    const input = args as Record<string, unknown>;
    const bulk = this.#options.contract.entries[entry]?.bulkOut;
    let out: Record<string, unknown> | undefined;
    for (const key in input) {
      const value = input[key];
      if (isByteList(value)) {
        // A batch of frames: one lent buffer for all of them, not a clone of each; in a
        // process, one region slot, the message carrying only their lengths.
        out ??= { ...input };
        if (shared) { out[key] = lendAll(lend, value); continue; }
        const lengths = value.map((item) => item.length);
        const total = lengths.reduce((sum, n) => sum + n, 0);
        const slot = slotFor(total, value);
        if (slot) {
          slots[key] = [slot.offset, total];
          out[key] = lengths;
        }
        continue;
      }
      if (!(value instanceof Uint8Array) || key === bulk?.arg) continue;
      out ??= { ...input };
      if (shared) { const view = lend(value.length); copyBytes(view, 0, value); out[key] = view; continue; }
      const slot = slotFor(value.length, value);
      if (slot) {
        slots[key] = [slot.offset, value.length];
        delete out[key];
      } else {
        out[key] = new Uint8Array(value); // exact-size copy: never serialize a whole pool buffer
      }
    }
    if (bulk) {
      // The caller's output buffer never crosses: the driver fills a slot (or its own array)
      // and the reply is copied into the caller's buffer.
      out ??= { ...input };
      if (input[bulk.arg] instanceof Uint8Array) call.into = input[bulk.arg] as Uint8Array;
      const length = Number(input[bulk.lengthArg] ?? 0);
      if (shared) out[bulk.arg] = call.lentOut = lend(length);
      else delete out[bulk.arg];
      const slot = shared ? undefined : slotFor(length);
      if (slot) {
        call.outSlot = slot;
        slots[bulk.arg] = [slot.offset, length];
      }
    }
    return out ?? args;
  }

  #startWatchdog(): void {
    const { clock, heartbeatMs, heartbeatTimeoutMs } = this.#options;
    const pingAfterMs = Math.max(heartbeatMs, heartbeatTimeoutMs / 6);
    let lastTick = clock.now();
    const tick = () => {
      const now = clock.now();
      const stalled = now - lastTick - heartbeatMs;
      lastTick = now;
      if (stalled > heartbeatMs) {
        // The kernel's own thread did not run (a long synchronous stretch): the driver had no
        // chance to be heard. Give back the time the kernel lost instead of blaming the driver.
        this.#lastPong += stalled;
        if (this.#loadDeadline !== undefined) this.#loadDeadline += stalled;
        for (const call of this.#pending.values()) call.deadline += stalled;
      }
      if (this.#loadDeadline !== undefined) {
        // A cold start on a loaded machine can take long; only a start that never ends fails.
        if (now > this.#loadDeadline) return this.fail(new DriverFailure('load', `driver not loaded within ${LOAD_TIMEOUT_MS} ms`));
      } else if (this.domain.kind !== 'none' && now - this.#lastPong > heartbeatTimeoutMs) {
        return this.fail(new DriverFailure('no-heartbeat', `no heartbeat for ${now - this.#lastPong} ms`));
      }
      for (const call of this.#pending.values()) {
        if (now > call.deadline) {
          return this.fail(new DriverFailure('hang', `${call.entry} missed its deadline`, call.entry));
        }
      }
      // A domain heard from lately is alive: a ping would only wake it (on a host of hundreds of
      // idle devices the pings were most of the idle CPU). Pinged once silent for a sixth of the
      // timeout, it has the other five sixths to answer.
      if (now - this.#lastPong >= pingAfterMs) this.#post({ t: 'ping', seq: ++this.#pingSeq });
    };
    this.#watchdog = clock.every(heartbeatMs, tick);
  }

  #post(message: ToDomain): void {
    this.#outbox.push(message);
    // A full batch goes at once: waiting for the end of the microtask queue would keep the
    // driver idle while the kernel thread works (and the other way round).
    if (this.#outbox.length >= BATCH_LIMIT) return this.#flush();
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#outbox.length === 0) return;
    if (this.#failure || this.#killed) return this.#dropAnswers(); // nothing reaches a failed driver
    const batch = this.#outbox;
    this.#outbox = [];
    this.#answers.clear();
    if (this.#closed) return;
    const poll = this.#options.busyPoll;
    poll?.sent(this.#pollTarget, this.#pending.size);
    if (poll?.enabled && this.domain.kind !== 'none') {
      // The domain may poll only while few devices are busy at once (busy-poll.ts).
      const allowed = poll.busy <= POLL_DEVICES;
      if (allowed !== this.#domainPolls) {
        this.#domainPolls = allowed;
        batch.push({ t: 'poll', on: allowed });
      }
    }
    // Serialized on its way (every domain but the inline one): runs of simple calls packed.
    this.domain.send(this.domain.kind === 'none' ? batch : packCalls(batch));
  }

  /** The outbox is never sent: the answers in it were never given. */
  #dropAnswers(): void {
    this.#outbox = [];
    for (const { name, args } of this.#answers.values()) this.#handlers.unanswered?.(name, args);
    this.#answers.clear();
  }
}

/** Where `length` bytes of a result go: the caller's buffer (its first `length` bytes) when it has room, else a new one. */
function outputOf(target: Uint8Array | undefined, length: number): Uint8Array {
  if (!target || target.length < length) return new Uint8Array(length);
  return target.length === length ? target : target.subarray(0, length);
}

/** The arrays copied into one lent view, and views of it in their place. */
function lendAll(lend: (length: number) => Uint8Array, list: Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const item of list) total += item.length;
  const view = lend(total);
  const views = new Array<Uint8Array>(list.length);
  let at = 0;
  for (let i = 0; i < list.length; i++) {
    const item = list[i]!;
    copyBytes(view, at, item);
    views[i] = view.subarray(at, at + item.length);
    at += item.length;
  }
  return views;
}

export type { FailureKind };
