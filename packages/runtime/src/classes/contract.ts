/**
 * A driver class declared as data. The taps, the generic shadow, fault injection and the CLI
 * all enumerate calls from these tables; adding a class means writing one of these plus a few
 * small hooks, never changing the core.
 */
import type { ErrorCode, ShadowError } from '../errors.js';

/** The paper's five answers while the driver is recovering, plus "fail with a coded error". */
export type RecoveryAction =
  | 'log' // answer from the shadow's log (queries)
  | 'busy' // report busy: the caller gets SD_ERR_BUSY and applies back-pressure
  | 'suspend' // hold the caller until the driver is back, then issue the call
  | 'queue' // report success now, issue the call to the driver after recovery
  | 'drop' // discard the call (events nobody waits for)
  | { fail: ErrorCode };

export type EntryKind = 'init' | 'configure' | 'open' | 'close' | 'request' | 'query' | 'event';

/** How an entry point is kept in the shadow's bounded log. */
export type LogRule =
  | { kind: 'none' }
  /** A setting: only the last call per key survives (superseded calls are compacted away). */
  | { kind: 'setting'; key: (args: any) => string }
  /** Opens an object; replayed after restart with the state the class hooks track. */
  | { kind: 'open'; object: (args: any) => string }
  /** Closes an object: removes it and every setting scoped to it from the log. */
  | { kind: 'close'; object: (args: any) => string }
  /** Returns the class to its initial state: settings before it are dropped. */
  | { kind: 'reset' }
  /** A request: kept while in flight, removed when it completes. */
  | { kind: 'request' }
  /** A query: its last answer is kept so the shadow can answer from the log. */
  | { kind: 'answer'; key?: (args: any) => string }
  /**
   * A request whose effect the driver may hold in a volatile cache (a write-back cache): once
   * acknowledged it is kept (arguments copied) until a call of entry `barrier` that was issued
   * after it completes (the driver said its cache reached the medium), and it is replayed to a
   * new driver, after open objects and settings, before that driver serves anything. Without
   * it, a write-back driver that crashed lost acknowledged writes and reads returned old data.
   * Bounded: past `maxEntries` or `maxBytes` kept, the shadow issues the barrier itself and
   * acknowledges the request only once the barrier completed (back-pressure). `key`: a later
   * request with the same key supersedes a kept one (a rewrite of the same blocks), so that a
   * replay the device refuses cannot leave an older copy as the last one applied.
   * `durable`: given what the driver registered, true when it says an acknowledged request is
   * already beyond its own memory (in a resource the kernel holds, or acknowledged by a server),
   * so nothing needs keeping: no copy on the request path and nothing to replay at recovery.
   */
  | {
    kind: 'until-barrier'; barrier: string; maxEntries: number; maxBytes: number;
    key?: (args: any) => string; durable?: (registration: any) => boolean;
  };

/** Which errno codes are a device's own (see ClassContract.deviceErrors and error-table.ts). */
export interface DeviceErrorTable {
  /** The device failed the request (a medium error, full, write-protected). */
  request: readonly string[];
  /** The device may be gone (unplugged, its backing removed, its server unreachable for good). */
  gone: readonly string[];
}

/** What the kernel knows about a device, for validating application input. */
export interface DeviceState {
  /** What the driver registered (geometry and the like), `undefined` before registration. */
  info: Record<string, unknown> | undefined;
  /** Arguments of the open object, keyed by object id. */
  open: Map<string, unknown>;
  /** Settings currently in force, keyed by setting key: the entry point that set it and its
   *  arguments (`up` and `down` share one key; which one came last is the setting); `system`
   *  when the system itself made it (a switch making its ports promiscuous), not an application. */
  settings: Map<string, { entry: string; args: unknown; system?: boolean }>;
}

export interface EntryPoint {
  kind: EntryKind;
  /** Issuing it twice has the same effect as once: it may be resubmitted after a failure. */
  idempotent: boolean;
  /** It changes device state (a write does, a read does not): decides the outcome we report. */
  sideEffects: boolean;
  log: LogRule;
  recovery: RecoveryAction;
  /** A hang is declared when the driver takes longer than this. */
  deadlineMs: number;
  /** Requests before it finish before it is issued, requests after it wait (flush). */
  barrier?: boolean;
  /** With recovery `queue`: a second call while one is already queued is dropped (resets). */
  coalesce?: boolean;
  /**
   * It completes when input arrives, not when the device has done work (a serial read that
   * waits for bytes): resubmitted after a failure, it does not hold the device's return to
   * passive mode (the calls that waited, a write among them, would wait for the input too).
   */
  waitsForInput?: boolean;
  /**
   * A device resource (by name, a tty) whose input the kernel takes for the driver: the driver
   * may answer `{ take: n }` (at most what the call asked for) once it sees input waiting, and
   * the kernel reads up to n bytes off that resource itself, on its own descriptor; those bytes
   * are the reply. Input taken so is never in the driver's hands, so a driver killed at any
   * instant (SIGKILL from outside, between its read() and its reply) loses none of it. Such a
   * reply on a device without that resource, or for more than was asked, is a contract breach;
   * one that comes after the driver failed takes nothing (the bytes stay for the next driver).
   */
  takesInputFrom?: string;
  /**
   * The driver may answer `{ from: resource, at: offset }` (ReadAt): the call's `length` bytes
   * are in that device memory at that offset, and the kernel copies them into the caller's
   * buffer itself. Where the resource is a file the kernel reads (a process domain's medium,
   * `kernelCopies`), that saves the driver reading the bytes and sending them back. A resource
   * the device lacks, one the driver does not hold, or a range outside it is a contract breach.
   */
  readsFrom?: boolean;
  /**
   * The argument (a Uint8Array) a driver may leave to the kernel to copy: answered `{ to:
   * resource, at: offset }` (WriteAt), the kernel copies those bytes into that device memory at
   * that offset before the call completes. The same checks as `readsFrom` hold.
   */
  writesTo?: string;
  /** An argument the driver fills (a read buffer) of `args[lengthArg]` bytes. The kernel
   *  passes shared memory where the domain allows it; otherwise the domain allocates it. */
  bulkOut?: { arg: string; lengthArg: string };
  /** Application input check; returns the typed error, or undefined when the call is valid. */
  validate?: (args: any, state: DeviceState) => ShadowError | undefined;
  /** Output check; returns a description of the contract breach, or undefined. */
  check?: (args: any, result: unknown) => string | undefined;
}

/** A call from the driver to the kernel declared by the class (received frames, interrupts). */
export interface Upcall {
  /** While the driver is recovering (only the fresh driver can make upcalls). */
  recovery: 'drop' | 'queue';
  validate?: (args: any) => string | undefined;
}

/** Everything the shadow needs to keep and restore a class's state. */
export interface ClassHooks {
  /** Called after every successful passive call, to track object state (positions, counters). */
  observe?(entry: string, args: any, result: unknown, memory: Record<string, any>): void;
  /** Called after every upcall the kernel accepted from the driver (received frames). */
  upcall?(name: string, args: any, memory: Record<string, any>): void;
  /** Called when the driver fails, before recovery. */
  failed?(memory: Record<string, any>): void;
  /**
   * A reply the failed driver sent after the kernel had declared it failed, while it still ran:
   * its call is being recovered (resubmitted), but the device state the reply carries may be
   * gone (a serial read took bytes off the line); the class may keep it for `patch` to give out.
   */
  late?(entry: string, args: any, result: unknown, memory: Record<string, any>): void;
  /**
   * An upcall the kernel accepted (and told `upcall` about) but never answered: the driver
   * failed, or was killed, before the answer left. A driver that waits for the answer (a serial
   * write's announcement) never went on: what `upcall` recorded did not happen.
   */
  unanswered?(name: string, args: any, memory: Record<string, any>): void;
  /** Rewrites a reply before it reaches the kernel (counters that must not go backwards). */
  patch?(entry: string, args: any, result: unknown, memory: Record<string, any>): unknown;
  /**
   * A request declared not idempotent, in flight at a failure, that the class can show never
   * started on the device (the driver had not announced it): it may be resubmitted once.
   */
  resubmittable?(entry: string, args: any, memory: Record<string, any>): boolean;
  /**
   * What the kernel held of the device's input while the driver recovered (see `heldInput`),
   * handed over once the new driver's replay is done and before it reads: older than anything
   * it will read. The class keeps it for `patch` to give out first.
   */
  held?(bytes: Uint8Array, memory: Record<string, any>): void;
  /** Arguments to replay for an open object (with its current state, e.g. a position). */
  reopen?(object: string, args: any, memory: Record<string, any>): any;
}

export interface ClassContract {
  name: string;
  /** Entry points the kernel calls on the driver. The one of kind 'init' starts the driver. */
  entries: Record<string, EntryPoint>;
  /** Class-specific calls the driver makes into the kernel. */
  upcalls: Record<string, Upcall>;
  /**
   * Device error codes a driver may not answer to a call the kernel let through: the kernel
   * initialized the driver, and checked the call (the device open, the range valid) before
   * issuing it, so such an answer says the driver lost its own state, not that the device
   * failed. It is a contract breach (a driver failure), not an error for the application.
   */
  stateErrors?: readonly string[];
  /**
   * Which errno codes are the device's, and which may mean the device is gone; classifyError
   * (error-table.ts) decides from this table. Default: EIO is the device's; ENXIO, ENODEV gone.
   */
  deviceErrors?: DeviceErrorTable;
  /**
   * The system's own configuration of the device, by entry point: what the operating system's
   * scripts set (an interface brought up with its address and MTU, a disk's write cache), as
   * opposed to what applications set or open. Restart-only recovery models Nooks, whose
   * user-mode agent re-applied exactly this after restarting a driver, together with any setting
   * the system itself made through `Device[kSystemCall]` (a bridge's ports, made promiscuous
   * when the system's scripts added them); the rest is lost.
   */
  agent?: readonly string[];
  /** What `register` must carry, and whether a restarted driver's registration matches. */
  /**
   * The flavour of the `contract` fault that shows on this class's replies when the operator
   * names none. The injector's own pick (a byte dropped from a read) is undetectable where a
   * short read is legal (serial): a fault drill would then test nothing.
   */
  contractFault?: 'wrong-length' | 'duplicate-reply' | 'unknown-reply' | 'wrong-type';
  /**
   * An input the kernel reads itself while the driver recovers (kernel/input-hold.ts): the
   * resource (a tty) by name, and the most it keeps. A device without that resource (a
   * virtual port) has no hold. What it held goes to the `held` hook.
   */
  heldInput?: { resource: string; limitBytes: number };
  registration: {
    /**
     * `held`: the host resources the kernel holds for the device (their sizes and modes), so a
     * registration cannot claim more than the medium it drives (4 PiB over a 16 MiB image).
     */
    validate(info: any, held?: readonly { name: string; sizeBytes: number; readOnly: boolean }[]): string | undefined;
    compatible(previous: any, next: any): string | undefined;
  };
  hooks: ClassHooks;
  /**
   * Live update's optional driver hooks (exportState / importState): what a driver may carry
   * from its old version to the new one beyond the class log (a cache). Absent: the defaults.
   */
  liveState?: LiveState;
}

/**
 * The optional pair of driver entry points a live update calls, declared as data: the old
 * version's `exportState()` after it is quiesced, its result checked at the boundary (at most
 * `maxBytes` once serialized, structured-clonable), then the new version's `importState(state)`
 * before it serves. A driver that has neither is carried by the class log alone.
 */
export interface LiveState {
  maxBytes: number;
  exportDeadlineMs: number;
  importDeadlineMs: number;
}

export const liveStateEntries = ['exportState', 'importState'] as const;
export type LiveStateEntry = (typeof liveStateEntries)[number];

/** 1 MiB: a cache's index or a few counters, not a disk's contents (that is the medium's). */
export const defaultLiveState: LiveState = { maxBytes: 1024 * 1024, exportDeadlineMs: 2000, importDeadlineMs: 2000 };

export function liveStateOf(contract: ClassContract): LiveState {
  return contract.liveState ?? defaultLiveState;
}

/** The two hooks as the channel issues them: queries the shadow never logs nor answers. */
export function liveStateEntry(contract: ClassContract, entry: string): EntryPoint | undefined {
  if (!(liveStateEntries as readonly string[]).includes(entry)) return undefined;
  const state = liveStateOf(contract);
  const exporting = entry === 'exportState';
  return {
    kind: exporting ? 'query' : 'configure', idempotent: exporting, sideEffects: !exporting, log: { kind: 'none' },
    recovery: 'suspend', deadlineMs: exporting ? state.exportDeadlineMs : state.importDeadlineMs,
  };
}

/** The class's barrier entry points: those some `until-barrier` rule names (a block device's flush). */
export function barriersOf(contract: ClassContract): Set<string> {
  return new Set(Object.values(contract.entries).flatMap((e) => (e.log.kind === 'until-barrier' ? [e.log.barrier] : [])));
}

export function entryOf(contract: ClassContract, name: string): EntryPoint | undefined {
  return Object.hasOwn(contract.entries, name) ? contract.entries[name] : undefined;
}

export function initEntry(contract: ClassContract): string {
  const found = Object.entries(contract.entries).find(([, e]) => e.kind === 'init');
  if (!found) throw new Error(`class ${contract.name} declares no init entry point`);
  return found[0];
}
