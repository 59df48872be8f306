/**
 * The block-storage class: what a block driver implements, what it may call, and what the
 * shadow does with each call while the driver recovers (the paper's IDE rows: requests queue,
 * outstanding requests are resubmitted, geometry is answered from the log).
 */
import { ErrorCodes, ShadowError } from '../../errors.js';
import type { ClassContract, DeviceState, EntryPoint } from '../contract.js';
import type { LiveStateHooks, ReadAt, WriteAt } from '../driver-api.js';
import { countsProblem, Tally } from '../tally.js';

export interface BlockInfo {
  /** Capacity in bytes; a multiple of `blockSize`. */
  sizeBytes: number;
  /** The smallest unit the device reads or writes (bytes, a power of two). */
  blockSize: number;
  /** The medium cannot be written at all (a read-only image). */
  readOnly: boolean;
  /**
   * Whether a write the driver acknowledged may still sit only in the driver's own memory
   * (a private write-back cache) until a flush: then the shadow keeps a copy of every
   * acknowledged write until a flush after it completes, and replays those copies to a
   * restarted driver. `false` says every acknowledged write is already in a resource the
   * kernel holds (a disk image, shared memory) or with a server that acknowledged it, so a
   * driver failure cannot lose it and the shadow keeps nothing. Absent: `true`, the safe side.
   */
  volatileCache?: boolean;
}

export interface BlockOpen {
  /** Read-only opens refuse writes, discards and flushes. */
  readOnly: boolean;
}

export interface BlockStats {
  reads: number;
  writes: number;
  flushes: number;
  discards: number;
  bytesRead: number;
  bytesWritten: number;
}

export type WriteCache = 'writeback' | 'writethrough';

/** Arguments of each entry point, as they cross the boundary. */
export interface BlockCalls {
  init: { config: Record<string, unknown> };
  open: BlockOpen;
  close: Record<string, never>;
  configure: { setting: 'writeCache'; value: WriteCache };
  read: { offset: number; length: number; into?: Uint8Array };
  write: { offset: number; data: Uint8Array };
  flush: Record<string, never>;
  discard: { offset: number; length: number };
  geometry: Record<string, never>;
  stats: Record<string, never>;
}

/** What a block driver implements. It never sees the shadow. */
export interface BlockDriver extends LiveStateHooks {
  init(args: BlockCalls['init']): Promise<void> | void;
  open(args: BlockOpen): Promise<void> | void;
  close(args: BlockCalls['close']): Promise<void> | void;
  configure(args: BlockCalls['configure']): Promise<void> | void;
  /**
   * Fills `into` (always provided, `length` bytes) and returns it or another array of `length`;
   * or, for device memory the kernel reads (a grant with `kernelCopies` or `memory`), returns
   * `{ from: resource, at: offset }` and the kernel copies the bytes itself.
   */
  read(args: Required<BlockCalls['read']>): Promise<Uint8Array | ReadAt> | Uint8Array | ReadAt;
  /** Puts `data` on the medium; or, for device memory the kernel copies to, returns `{ to: resource, at: offset }`. */
  write(args: BlockCalls['write']): Promise<void | WriteAt> | void | WriteAt;
  flush(args: BlockCalls['flush']): Promise<void> | void;
  discard(args: BlockCalls['discard']): Promise<void> | void;
  geometry(args: BlockCalls['geometry']): Promise<BlockInfo> | BlockInfo;
  stats(args: BlockCalls['stats']): Promise<BlockStats> | BlockStats;
}

export const zeroStats = (): BlockStats => ({
  reads: 0, writes: 0, flushes: 0, discards: 0, bytesRead: 0, bytesWritten: 0,
});

const COUNTED = ['reads', 'writes', 'flushes', 'discards', 'bytesRead', 'bytesWritten'] as const satisfies readonly (keyof BlockStats)[];
const READS = 0, WRITES = 1, FLUSHES = 2, DISCARDS = 3, BYTES_READ = 4, BYTES_WRITTEN = 5;

/**
 * Block statistics as they are counted: what a driver keeps for its `stats` answer, and what
 * the shadow counts between two answers. Counted in a tally (tally.ts), which stays fast past
 * 2^30 bytes where the fields of a `BlockStats` object would not.
 */
export class BlockCounters {
  readonly #tally = new Tally<keyof BlockStats>(COUNTED);

  /** A request the device completed: `read` and `write` with the bytes they moved. */
  count(entry: string, bytes = 0): void {
    const n = this.#tally.counts;
    if (entry === 'read') { n[READS]++; n[BYTES_READ] += bytes; }
    else if (entry === 'write') { n[WRITES]++; n[BYTES_WRITTEN] += bytes; }
    else if (entry === 'flush') n[FLUSHES]++;
    else if (entry === 'discard') n[DISCARDS]++;
  }

  stats(): BlockStats {
    return this.#tally.toObject();
  }

  clear(): void {
    this.#tally.clear();
  }
}

const sinceQuery = (memory: Record<string, any>): BlockCounters => (memory.sinceQuery ??= new BlockCounters());

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const bad = (message: string) => new ShadowError(ErrorCodes.INVALID_ARGUMENT, message);

function info(state: DeviceState): BlockInfo {
  return state.info as unknown as BlockInfo;
}

function mustBeOpen(state: DeviceState): ShadowError | undefined {
  if (!state.open.has('disk')) return new ShadowError(ErrorCodes.NOT_OPEN, 'the block device is not open');
  return undefined;
}

function mustBeWritable(state: DeviceState): ShadowError | undefined {
  const opened = state.open.get('disk') as BlockOpen | undefined;
  if (info(state).readOnly || opened?.readOnly) {
    return new ShadowError(ErrorCodes.READ_ONLY, 'the block device is read-only');
  }
  return undefined;
}

/** Range and alignment rules shared by read, write and discard. */
function checkRange(offset: unknown, length: unknown, state: DeviceState): ShadowError | undefined {
  if (!isInt(offset) || !isInt(length)) return bad('offset and length must be safe integers');
  if (offset < 0 || length < 0) return bad(`negative offset or length (${offset}, ${length})`);
  const { sizeBytes, blockSize } = info(state);
  if (offset % blockSize !== 0 || length % blockSize !== 0) {
    return new ShadowError(ErrorCodes.MISALIGNED,
      `offset ${offset} and length ${length} must be multiples of the block size ${blockSize}`);
  }
  if (offset + length > sizeBytes) {
    return new ShadowError(ErrorCodes.OUT_OF_RANGE,
      `${offset}+${length} reaches past the end of the device (${sizeBytes} bytes)`);
  }
  return undefined;
}

const MAX_IO = 16 * 1024 * 1024;
/** The largest block a device may state: the NBD export advertises it as its minimum block size, which NBD bounds at 64 KiB. */
const MAX_BLOCK = 64 * 1024;

/** Writes and discards stay in the shadow's log until a flush issued after them completes. */
const untilFlush = (key: (args: any) => string) => ({
  kind: 'until-barrier', barrier: 'flush', maxEntries: 1024, maxBytes: 32 * 1024 * 1024, key,
  durable: (info: BlockInfo | undefined) => info?.volatileCache === false,
}) as const;

const io = (deadlineMs: number): Pick<EntryPoint, 'kind' | 'idempotent' | 'log' | 'recovery' | 'deadlineMs'> => ({
  kind: 'request', idempotent: true, log: { kind: 'request' }, recovery: 'suspend', deadlineMs,
});

export const blockClass: ClassContract = {
  name: 'block',
  entries: {
    init: { kind: 'init', idempotent: true, sideEffects: false, log: { kind: 'none' },
      recovery: 'suspend', deadlineMs: 5000 },
    open: {
      kind: 'open', idempotent: true, sideEffects: false, log: { kind: 'open', object: () => 'disk' },
      recovery: 'suspend', deadlineMs: 2000,
      validate: (args: unknown) =>
        typeof args === 'object' && args !== null && typeof (args as BlockOpen).readOnly === 'boolean'
          ? undefined : bad('open takes { readOnly: boolean }'),
    },
    close: { kind: 'close', idempotent: true, sideEffects: false, log: { kind: 'close', object: () => 'disk' },
      recovery: 'suspend', deadlineMs: 2000, validate: (_a, s) => mustBeOpen(s) },
    configure: {
      kind: 'configure', idempotent: true, sideEffects: false,
      log: { kind: 'setting', key: (a: BlockCalls['configure']) => `disk:${a.setting}` },
      recovery: 'suspend', deadlineMs: 2000,
      validate: (a: BlockCalls['configure'], s) => mustBeOpen(s) ?? (
        a?.setting === 'writeCache' && (a.value === 'writeback' || a.value === 'writethrough')
          ? undefined : bad('configure takes { setting: "writeCache", value: "writeback" | "writethrough" }')),
    },
    read: {
      ...io(2000), sideEffects: false,
      bulkOut: { arg: 'into', lengthArg: 'length' },
      readsFrom: true,
      validate: (a: BlockCalls['read'], s) => mustBeOpen(s) ?? checkRange(a?.offset, a?.length, s) ??
        (a.length > MAX_IO ? bad(`a read may be at most ${MAX_IO} bytes`) : undefined) ??
        (a.into !== undefined && !(a.into instanceof Uint8Array && a.into.length >= a.length)
          ? bad(`into must be a Uint8Array of at least ${a.length} bytes`) : undefined),
      check: (a: BlockCalls['read'], r) => r instanceof Uint8Array && r.length === a.length
        ? undefined : `read of ${a.length} bytes returned ${describe(r)}`,
    },
    write: {
      ...io(2000), sideEffects: true, writesTo: 'data', log: untilFlush((a: BlockCalls['write']) => `${a.offset}:${a.data.length}`),
      validate: (a: BlockCalls['write'], s) => mustBeOpen(s) ?? mustBeWritable(s) ??
        (a?.data instanceof Uint8Array ? checkRange(a.offset, a.data.length, s) : bad('write data must be a Uint8Array')) ??
        (a.data.length > MAX_IO ? bad(`a write may be at most ${MAX_IO} bytes`) : undefined),
      check: (_a, r) => (r === undefined ? undefined : `write returned ${describe(r)}`),
    },
    flush: { ...io(5000), sideEffects: true, barrier: true,
      validate: (_a, s) => mustBeOpen(s) ?? mustBeWritable(s) },
    discard: { ...io(2000), sideEffects: true, log: untilFlush((a: BlockCalls['discard']) => `${a.offset}:${a.length}`),
      validate: (a: BlockCalls['discard'], s) => mustBeOpen(s) ?? mustBeWritable(s) ?? checkRange(a?.offset, a?.length, s) },
    geometry: { kind: 'query', idempotent: true, sideEffects: false, log: { kind: 'answer' },
      recovery: 'log', deadlineMs: 1000,
      check: (_a, r) => infoProblem(r as BlockInfo, 'geometry returned') },
    stats: { kind: 'query', idempotent: true, sideEffects: false, log: { kind: 'answer' },
      recovery: 'log', deadlineMs: 1000,
      check: (_a, r) => countsProblem(r, COUNTED, 'stats') },
  },
  upcalls: {},
  // "No device": a block driver says it is not initialized or not open.
  stateErrors: ['ENODEV'],
  deviceErrors: {
    // Medium errors, a full or write-protected backing, a remote disk's failures.
    request: ['EIO', 'ENOSPC', 'EDQUOT', 'EROFS', 'EREMOTEIO', 'EBADMSG', 'ETIMEDOUT', 'ENOMEDIUM'],
    // The device went away: a detached block device, a dead FUSE or network filesystem.
    gone: ['ENXIO', 'ENODEV', 'ENOTCONN', 'ESTALE', 'ESHUTDOWN'],
  },
  registration: {
    validate(i: BlockInfo, held = []) {
      const problem = infoProblem(i, 'registration:');
      if (problem !== undefined) return problem;
      // The medium the kernel holds bounds what a driver of it may claim.
      for (const medium of held.filter((r) => r.sizeBytes > 0)) {
        if (i.sizeBytes > medium.sizeBytes) return `size ${i.sizeBytes} exceeds the ${medium.sizeBytes}-byte ${medium.name} the kernel holds`;
        if (medium.readOnly && !i.readOnly) return `${medium.name} is read-only, but the device registered writable`;
      }
      return undefined;
    },
    compatible(previous: BlockInfo, next: BlockInfo) {
      return previous.sizeBytes === next.sizeBytes && previous.blockSize === next.blockSize
        ? undefined : `restarted driver registered ${next.sizeBytes}/${next.blockSize}, ` +
          `expected ${previous.sizeBytes}/${previous.blockSize}`;
    },
  },
  hooks: {
    // Statistics never go backwards: a fresh driver counts from zero, so the shadow keeps the
    // counts of every earlier driver instance and adds them to what the new one reports.
    failed(memory) {
      const since = sinceQuery(memory);
      memory.base = addStats(memory.base ?? zeroStats(), since.stats(), memory.lastRaw ?? zeroStats());
      since.clear();
      memory.lastRaw = zeroStats();
    },
    observe(entry, args, result, memory) {
      if (entry === 'read') sinceQuery(memory).count(entry, (args as BlockCalls['read']).length);
      else if (entry === 'write') sinceQuery(memory).count(entry, (args as BlockCalls['write']).data.length);
      else if (entry === 'flush' || entry === 'discard') sinceQuery(memory).count(entry);
      else if (entry === 'stats') { memory.lastRaw = { ...(result as BlockStats) }; sinceQuery(memory).clear(); }
    },
    patch(entry, _args, result, memory) {
      if (entry !== 'stats') return result;
      const patched = addStats(memory.base ?? zeroStats(), result as BlockStats);
      const floor: BlockStats = memory.reported ?? zeroStats();
      for (const k of Object.keys(patched) as (keyof BlockStats)[]) patched[k] = Math.max(patched[k], floor[k]);
      memory.reported = { ...patched };
      return patched;
    },
  },
};

/**
 * What is wrong with a device's geometry as a driver states it (at registration, and in every
 * `geometry` answer: the NBD export advertises it to clients), or undefined.
 */
function infoProblem(i: BlockInfo, said: string): string | undefined {
  if (typeof i !== 'object' || i === null) return `${said} ${describe(i)}, not an object`;
  if (!isInt(i.blockSize) || i.blockSize < 512 || i.blockSize > MAX_BLOCK || (i.blockSize & (i.blockSize - 1)) !== 0) {
    return `${said} block size ${String(i.blockSize).slice(0, 40)}, not a power of two from 512 to ${MAX_BLOCK}`;
  }
  if (!isInt(i.sizeBytes) || i.sizeBytes <= 0 || i.sizeBytes % i.blockSize !== 0) {
    return `${said} size ${String(i.sizeBytes).slice(0, 40)}, not a positive multiple of the block size`;
  }
  if (typeof i.readOnly !== 'boolean') return `${said} readOnly ${describe(i.readOnly)}, not a boolean`;
  if (i.volatileCache !== undefined && typeof i.volatileCache !== 'boolean') return `${said} volatileCache ${describe(i.volatileCache)}, not a boolean`;
  return undefined;
}

function addStats(...all: BlockStats[]): BlockStats {
  const out = zeroStats();
  for (const s of all) for (const k of Object.keys(out) as (keyof BlockStats)[]) out[k] += s[k] ?? 0;
  return out;
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return v === null ? 'null' : typeof v;
}

export { DeviceError } from '../driver-api.js';
export type { KernelServices, ReadAt, ResourceGrant, WriteAt } from '../driver-api.js';
import type { DriverFactory } from '../driver-api.js';

/** Declares a block driver; the identity function, there for the types. */
export function defineBlockDriver(factory: DriverFactory<BlockDriver>): DriverFactory<BlockDriver> {
  return factory;
}
