/**
 * What a driver sees of the kernel: the services it may call. Every call crosses the domain
 * boundary through a tap and is checked on the kernel side; a bad call fails the driver.
 * Drivers import this (through their class contract) and nothing else of the runtime.
 */
import type { ResourceGrant } from '../isolation/protocol.js';

export type { ResourceGrant };

/** A PulseAudio client the kernel runs for a sound driver (see `spawnHelper`). */
export interface HelperSpec {
  program: 'pacat' | 'parec';
  /** The PulseAudio server's unix socket. */
  server: string;
  /** Sink (pacat) or source (parec). */
  device: string;
  format: 'u8' | 's16le' | 's32le' | 'f32le';
  rate: number;
  channels: number;
  /** Latency PulseAudio should aim for (its buffer), in ms. */
  latencyMs: number;
  streamName: string;
}

export interface HelperStatus {
  /** The stream time the client last reported (playback: played so far), seconds. */
  seconds: number;
  /** Age of that report, ms. */
  ageMs: number;
  /** Bytes handed to (playback) or received from (capture) the client. */
  bytes: number;
  exited: boolean;
}

/** How an upcall's arguments cross to the kernel. */
export interface UpcallOptions {
  /**
   * ArrayBuffers the driver gives up with this upcall (a received frame's own copy): in a
   * worker domain they move to the kernel instead of being copied, and are detached here (zero
   * bytes) from then on. Elsewhere they are copied as usual. Name only buffers nothing else of
   * the driver still uses; a shared or pooled one (a Buffer from `Buffer.from` of a few bytes)
   * is copied anyway.
   */
  transfer?: ArrayBuffer[];
}

export interface KernelServices {
  /** Register the device with the kernel (geometry, capabilities), once per driver start. */
  register(info: Record<string, unknown>): Promise<void>;
  /** Take a host resource the kernel holds for this device (a disk image's descriptor). */
  acquire(name: string): Promise<ResourceGrant>;
  /** Make a held resource's writes durable (fdatasync on the kernel's descriptor). */
  sync(name: string): Promise<void>;
  /** Give a host resource back (the kernel keeps it open for the device). */
  release(name: string): Promise<void>;
  /** A kernel timer: the callback runs as a call into the driver, through the taps. */
  setTimer(ms: number, callback: () => void | Promise<void>, options?: { repeat?: boolean }): Promise<number>;
  clearTimer(id: number): Promise<void>;
  /** A buffer from the kernel; shared memory where the domain allows it. */
  allocBuffer(bytes: number): Promise<Uint8Array>;
  /** A class upcall (received frames, period elapsed, link change). */
  upcall(name: string, args: unknown, options?: UpcallOptions): Promise<void>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /**
   * Sound drivers: a PulseAudio client (pacat/parec) the kernel starts from checked fields and
   * holds for the driver; it ends when the driver fails (playback lets it play what it has).
   */
  spawnHelper(spec: HelperSpec): Promise<number>;
  /** Playback: PCM to the client; resolves once its pipe took it. */
  helperWrite(helperId: number, data: Uint8Array): Promise<void>;
  /** Capture: the next `bytes` the client recorded. */
  helperRead(helperId: number, bytes: number): Promise<Uint8Array>;
  helperStatus(helperId: number): Promise<HelperStatus>;
  /** Ends the client; `drain`: a playback client first plays what it has. */
  stopHelper(helperId: number, drain: boolean): Promise<void>;
}

/**
 * An error the *device* reported for one request (EIO, a medium error). The application gets
 * it as SD_ERR_IO for that request. Anything else a driver throws is a driver failure.
 */
export class DeviceError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DeviceError';
    this.code = code;
  }
}

/**
 * A read's answer that leaves the taking to the kernel (`EntryPoint.takesInputFrom`): input is
 * waiting on the device, and the kernel reads up to `take` bytes of it on its own descriptor.
 */
export interface TakeInput {
  take: number;
}

/** `{ take: n }` and nothing else. */
export function isTakeInput(value: unknown): value is TakeInput {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) &&
    Object.keys(value).length === 1 && Number.isInteger((value as TakeInput).take);
}

/**
 * A read's answer that leaves the copying to the kernel (`EntryPoint.readsFrom`): the call's
 * bytes are in the device memory `from` (a resource granted with `kernelCopies` or `memory`)
 * at offset `at`, and the kernel copies them into the caller's buffer itself, as a device's DMA
 * would.
 */
export interface ReadAt {
  from: string;
  at: number;
}

/**
 * A write's answer that leaves the copying to the kernel (`EntryPoint.writesTo`): the call's
 * bytes belong in the device memory `to` at offset `at`, and the kernel copies them there
 * itself before the write completes.
 */
export interface WriteAt {
  to: string;
  at: number;
}

function exactly(value: unknown, name: string): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && typeof (value as Record<string, unknown>)[name] === 'string' && typeof (value as { at?: unknown }).at === 'number';
}

/** `{ from: string, at: number }` and nothing else. */
export function isReadAt(value: unknown): value is ReadAt {
  return exactly(value, 'from');
}

/** `{ to: string, at: number }` and nothing else. */
export function isWriteAt(value: unknown): value is WriteAt {
  return exactly(value, 'to');
}

/**
 * Optional in every class (live update): a driver that holds more than the class log keeps (a
 * cache, counters) hands it from its old version to the new one. `exportState` runs on the old
 * version once it is quiesced and must not change it (if the update rolls back, the old
 * version goes on serving); its result must be structured-clonable and at most the class's
 * `liveState.maxBytes` (1 MiB by default) serialized, or the update rolls back. `importState`
 * runs on the new version after its init, before it serves; a throw there rolls the update back.
 */
export interface LiveStateHooks {
  exportState?(): unknown;
  importState?(state: unknown): void | Promise<void>;
}

/** A driver module's default export. */
export type DriverFactory<D> = (kernel: KernelServices) => D;
