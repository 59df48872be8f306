/**
 * The serial class, from the driver interface the Node ecosystem already uses
 * (`@serialport/bindings-interface`: open, close, read, write, update, set, get, getBaudRate,
 * flush, drain). What the shadow does with each call while the driver recovers:
 *
 * - Settings are compacted and replayed: the open's line settings (baud rate, data and stop
 *   bits, parity, flow control), the last `update` (baud rate) and the last `set` (the modem
 *   lines DTR, RTS, BRK; `set` always carries every flag, so the last one is the whole state).
 *   A fresh driver resets the line on `init` (as a UART driver's probe does), so without the
 *   replay they would be lost (restart-only recovery).
 * - Reads are suspended and resubmitted: a read takes the next bytes of the line's input
 *   queue, which the kernel keeps (it holds the tty open for the device's whole life), so a
 *   read issued again to the next driver loses nothing that arrived while the driver was down.
 *   A driver on the kernel's tty need not take the bytes itself: it answers `{ take: n }` once
 *   input is waiting, and the kernel reads them off the tty on its own descriptor when the
 *   answer arrives (`takesInputFrom`), so no byte is ever only in a driver's hands (the
 *   serialport driver does this). A driver that reads the bytes itself and is declared failed
 *   may still run until its domain is gone, and its pending read may take bytes off the queue:
 *   its late reply is kept (the `late` hook) and given out before anything the next driver
 *   reads. Its one window left: bytes it took with its read() system call and died before
 *   answering (killed from outside between the two, or descheduled there on a loaded host).
 * - Writes are never silently repeated (declared not idempotent). How the kernel tells: every
 *   write carries a sequence number, and a driver announces it (the `writing` upcall, answered
 *   by the kernel) before it hands one byte to the port. A write the driver answered is complete
 *   (its bytes are in the tty's output queue). A write in flight at a failure that the driver
 *   had not announced never started: it is resubmitted, once; so is one whose announcement the
 *   kernel never answered (it answers nothing once it has failed or SIGKILLed the driver, and
 *   drops answers still queued then: the `unanswered` hook). One it had announced and been
 *   answered may have reached the line (on a pty no output queue records it, so TIOCOUTQ cannot
 *   tell; a driver killed from outside may die between the answer and its write): it fails
 *   with outcome `indeterminate`, and the application decides. A write still waiting in the
 *   shadow (suspended during recovery) is issued once, to the next driver.
 * - `drain` waits (a barrier): it is suspended across a recovery and issued after the writes
 *   before it, since it promises that they are on the wire. `flush` (discard both queues) is
 *   queued: answered at once, issued after recovery, a second one coalesced.
 * - `get` (modem status) and `getBaudRate` are answered from the log while the driver is down.
 */
import { ErrorCodes, ShadowError } from '../../errors.js';
import type { ClassContract, DeviceState, EntryPoint } from '../contract.js';
import type { LiveStateHooks, TakeInput } from '../driver-api.js';

export type Parity = 'none' | 'even' | 'odd';

/** The line settings of an open port (bindings-interface's OpenOptions, less the path). */
export interface SerialSettings {
  baudRate: number;
  dataBits?: 5 | 6 | 7 | 8;
  stopBits?: 1 | 2;
  parity?: Parity;
  /** Hardware (RTS/CTS) flow control. */
  rtscts?: boolean;
  /** Software flow control: honour XON/XOFF from the far end, send them, restart on any byte. */
  xon?: boolean;
  xoff?: boolean;
  xany?: boolean;
  /** Drop DTR when the port is closed. */
  hupcl?: boolean;
}

/** bindings-interface's SetOptions: the modem lines the port drives. */
export interface ModemLines {
  brk: boolean;
  cts: boolean;
  dsr: boolean;
  dtr: boolean;
  rts: boolean;
  lowLatency?: boolean;
}

/** bindings-interface's PortStatus: the lines the far end drives. */
export interface ModemStatus {
  cts: boolean;
  dsr: boolean;
  dcd: boolean;
}

export interface SerialInfo {
  /** What the driver drives: a tty path or `virtual:<name>`. */
  port: string;
}

export interface SerialCalls {
  init: { config: Record<string, unknown> };
  open: SerialSettings;
  close: Record<string, never>;
  update: { baudRate: number };
  set: ModemLines;
  get: Record<string, never>;
  getBaudRate: Record<string, never>;
  /** Up to `length` bytes, waiting at most `waitMs` for the first: an empty array if none came. */
  read: { length: number; waitMs: number };
  /** `seq`: the write's number on this device, announced by the driver before it starts. */
  write: { seq: number; data: Uint8Array };
  flush: Record<string, never>;
  drain: Record<string, never>;
}

export interface SerialUpcalls {
  /** The driver is about to hand write `seq` to the port; it waits for the kernel's answer first. */
  writing: { seq: number };
}

export interface SerialDriver extends LiveStateHooks {
  init(args: SerialCalls['init']): Promise<void> | void;
  open(args: SerialSettings): Promise<void> | void;
  close(args: SerialCalls['close']): Promise<void> | void;
  update(args: SerialCalls['update']): Promise<void> | void;
  set(args: ModemLines): Promise<void> | void;
  get(args: SerialCalls['get']): Promise<ModemStatus> | ModemStatus;
  getBaudRate(args: SerialCalls['getBaudRate']): Promise<{ baudRate: number }> | { baudRate: number };
  /**
   * The bytes read, or, for a port on the kernel's tty, `{ take: n }` once input is waiting:
   * the kernel then takes up to n bytes off the tty itself (see `takesInputFrom`), so no byte
   * is ever in the driver's hands when it dies.
   */
  read(args: SerialCalls['read']): Promise<Uint8Array | TakeInput> | Uint8Array | TakeInput;
  /** Resolves once the port took every byte (they are in its output queue). */
  write(args: SerialCalls['write']): Promise<void> | void;
  flush(args: SerialCalls['flush']): Promise<void> | void;
  drain(args: SerialCalls['drain']): Promise<void> | void;
}

/** The settings a port is reset to (what a driver's `init` puts on the line). */
export const DEFAULT_SETTINGS: Required<SerialSettings> = {
  baudRate: 9600, dataBits: 8, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false, hupcl: true,
};

export const MAX_READ = 65536;
export const MAX_WRITE = 1 << 20;
export const MAX_WAIT_MS = 1000;

const concat = (a: Uint8Array | undefined, b: Uint8Array): Uint8Array => {
  if (!a || a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

const bad = (message: string) => new ShadowError(ErrorCodes.INVALID_ARGUMENT, message);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isBool = (v: unknown) => typeof v === 'boolean';
const nothing = (_a: unknown, r: unknown) => (r === undefined ? undefined : `returned ${typeof r}, expected nothing`);

function mustBeOpen(state: DeviceState): ShadowError | undefined {
  return state.open.has('port') ? undefined : new ShadowError(ErrorCodes.NOT_OPEN, 'the serial port is not open');
}

/** The problem with a set of line settings, or undefined. */
export function settingsProblem(s: SerialSettings): string | undefined {
  if (typeof s !== 'object' || s === null) return 'open takes { baudRate, dataBits?, stopBits?, parity?, rtscts?, xon?, xoff?, xany?, hupcl? }';
  if (!isInt(s.baudRate) || s.baudRate <= 0 || s.baudRate > 4_000_000) return `baudRate ${String(s.baudRate)} is not a baud rate`;
  if (s.dataBits !== undefined && ![5, 6, 7, 8].includes(s.dataBits)) return 'dataBits must be 5, 6, 7 or 8';
  if (s.stopBits !== undefined && s.stopBits !== 1 && s.stopBits !== 2) return 'stopBits must be 1 or 2';
  if (s.parity !== undefined && !['none', 'even', 'odd'].includes(s.parity)) return 'parity must be none, even or odd';
  for (const flag of ['rtscts', 'xon', 'xoff', 'xany', 'hupcl'] as const) {
    if (s[flag] !== undefined && !isBool(s[flag])) return `${flag} must be true or false`;
  }
  return undefined;
}

const portSetting = (key: string, validate: EntryPoint['validate']): EntryPoint => ({
  kind: 'configure', idempotent: true, sideEffects: true, log: { kind: 'setting', key: () => `port:${key}` },
  recovery: 'suspend', deadlineMs: 2000, check: nothing, validate: (a, s) => mustBeOpen(s) ?? validate?.(a, s),
});

const query = (check: EntryPoint['check']): EntryPoint => ({
  kind: 'query', idempotent: true, sideEffects: false, log: { kind: 'answer' }, recovery: 'log', deadlineMs: 1000,
  validate: (_a, s) => mustBeOpen(s), check,
});

export const serialClass: ClassContract = {
  name: 'serial',
  entries: {
    init: { kind: 'init', idempotent: true, sideEffects: false, log: { kind: 'none' }, recovery: 'suspend', deadlineMs: 5000 },
    open: {
      kind: 'open', idempotent: true, sideEffects: true, log: { kind: 'open', object: () => 'port' }, recovery: 'suspend',
      deadlineMs: 3000, check: nothing,
      validate: (a: SerialSettings, s) => (s.open.has('port') ? new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the serial port is already open')
        : ((p) => (p ? bad(p) : undefined))(settingsProblem(a))),
    },
    close: { kind: 'close', idempotent: true, sideEffects: false, log: { kind: 'close', object: () => 'port' }, recovery: 'suspend',
      deadlineMs: 3000, validate: (_a, s) => mustBeOpen(s), check: nothing },
    update: portSetting('baudRate', (a: SerialCalls['update']) =>
      isInt(a?.baudRate) && a.baudRate > 0 && a.baudRate <= 4_000_000 ? undefined : bad('update takes { baudRate }')),
    set: portSetting('lines', (a: ModemLines) =>
      ['brk', 'cts', 'dsr', 'dtr', 'rts'].every((k) => isBool((a as unknown as Record<string, unknown>)?.[k])) &&
      (a.lowLatency === undefined || isBool(a.lowLatency)) ? undefined : bad('set takes { brk, cts, dsr, dtr, rts } as booleans')),
    get: query((_a, r) => (['cts', 'dsr', 'dcd'].every((k) => isBool((r as Record<string, unknown> | undefined)?.[k]))
      ? undefined : 'get returned no modem status')),
    getBaudRate: query((_a, r) => {
      const rate = (r as { baudRate?: unknown } | undefined)?.baudRate;
      return isInt(rate) && rate >= 0 ? undefined : 'getBaudRate returned no baud rate';
    }),
    read: {
      kind: 'request', idempotent: true, sideEffects: false, log: { kind: 'request' }, recovery: 'suspend', deadlineMs: MAX_WAIT_MS + 2000, waitsForInput: true,
      takesInputFrom: 'tty',
      validate: (a: SerialCalls['read'], s) => mustBeOpen(s) ??
        (isInt(a?.length) && a.length > 0 && a.length <= MAX_READ && isInt(a.waitMs) && a.waitMs >= 0 && a.waitMs <= MAX_WAIT_MS
          ? undefined : bad(`read takes { length: 1..${MAX_READ}, waitMs: 0..${MAX_WAIT_MS} }`)),
      check: (a: SerialCalls['read'], r) => (r instanceof Uint8Array && r.length <= a.length ? undefined : `read of at most ${a.length} bytes returned something else`),
    },
    write: {
      kind: 'request', idempotent: false, sideEffects: true, log: { kind: 'request' }, recovery: 'suspend', deadlineMs: 5000, check: nothing,
      validate: (a: SerialCalls['write'], s) => mustBeOpen(s) ??
        (a?.data instanceof Uint8Array && a.data.length <= MAX_WRITE && isInt(a.seq) && a.seq >= 0 ? undefined
          : bad(`write takes { seq, data: Uint8Array } of at most ${MAX_WRITE} bytes`)),
    },
    flush: { kind: 'request', idempotent: true, sideEffects: true, log: { kind: 'none' }, recovery: 'queue', coalesce: true,
      deadlineMs: 2000, validate: (_a, s) => mustBeOpen(s), check: nothing },
    drain: { kind: 'request', idempotent: true, sideEffects: false, log: { kind: 'request' }, recovery: 'suspend', barrier: true,
      deadlineMs: 30_000, validate: (_a, s) => mustBeOpen(s), check: nothing },
  },
  // A read may return fewer bytes than asked, so a read reply one byte short breaks nothing the
  // kernel can see: the contract fault a drill injects is a reply answered twice, which it sees.
  contractFault: 'duplicate-reply',
  // While no driver runs, the kernel empties the tty's queue itself (a new driver's open may
  // flush it, and a real UART's buffers are small): 1 MiB, 90 s of input at 115,200 baud.
  heldInput: { resource: 'tty', limitBytes: 1 << 20 },
  upcalls: {
    writing: { recovery: 'drop', validate: (a: SerialUpcalls['writing']) => (isInt(a?.seq) ? undefined : 'writing takes { seq }') },
  },
  registration: {
    validate: (i: SerialInfo) => (typeof i?.port === 'string' && i.port !== '' ? undefined : 'registration must name the port'),
    compatible: (previous: SerialInfo, next: SerialInfo) =>
      previous.port === next.port ? undefined : `restarted driver drives ${next.port}, expected ${previous.port}`,
  },
  hooks: {
    upcall(name, args, memory) {
      if (name === 'writing') (memory.started ??= new Set<number>()).add((args as SerialUpcalls['writing']).seq);
    },
    // The announcement's answer never left: the driver, waiting for it, never wrote.
    unanswered(name, args, memory) {
      if (name === 'writing') (memory.started as Set<number> | undefined)?.delete((args as SerialUpcalls['writing']).seq);
    },
    observe(entry, args, _result, memory) {
      if (entry !== 'write') return;
      const { seq } = args as SerialCalls['write'];
      (memory.started as Set<number> | undefined)?.delete(seq);
      (memory.resubmitted as Set<number> | undefined)?.delete(seq);
    },
    // A read the failed driver answered too late: its bytes are off the tty's queue, and the
    // read is being resubmitted to the next driver. They are kept and given out first.
    late(entry, _args, result, memory) {
      if (entry === 'read' && result instanceof Uint8Array && result.length > 0) {
        memory.unread = concat(memory.unread as Uint8Array | undefined, result);
      }
    },
    // Bytes the kernel read off the tty while the driver was down: after any late reply's
    // (read before the failed driver's domain was gone), before anything the new driver reads.
    held(bytes, memory) {
      if (bytes.length > 0) memory.unread = concat(memory.unread as Uint8Array | undefined, bytes);
    },
    patch(entry, args, result, memory) {
      if (entry === 'flush') memory.unread = undefined; // discarded with the queues
      const unread = memory.unread as Uint8Array | undefined;
      if (entry !== 'read' || !unread || !(result instanceof Uint8Array)) return result;
      // Older bytes first; whatever does not fit this read waits for the next one.
      const all = concat(unread, result);
      const { length } = args as SerialCalls['read'];
      memory.unread = all.length > length ? all.slice(length) : undefined;
      return all.subarray(0, length);
    },
    // Unannounced: never started. Resubmitted once only: a driver that fails while running the
    // resubmission announces it in recovery, where the kernel does not record upcalls.
    resubmittable(entry, args, memory) {
      if (entry !== 'write') return false;
      const { seq } = args as SerialCalls['write'];
      const resubmitted: Set<number> = memory.resubmitted ??= new Set<number>();
      if ((memory.started as Set<number> | undefined)?.has(seq) || resubmitted.has(seq)) return false;
      resubmitted.add(seq);
      return true;
    },
  },
};

export { DeviceError } from '../driver-api.js';
export type { KernelServices, ResourceGrant } from '../driver-api.js';
import type { DriverFactory } from '../driver-api.js';

/** Declares a serial driver; the identity function, there for the types. */
export function defineSerialDriver(factory: DriverFactory<SerialDriver>): DriverFactory<SerialDriver> {
  return factory;
}
