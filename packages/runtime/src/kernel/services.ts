/**
 * The kernel services a driver may call, as a table. Each service checks its arguments and
 * the ownership of every object named; a bad call throws, and the channel turns that into a
 * `bad-kernel-call` failure of the driver. Objects a driver acquires are recorded in its
 * holdings (the object tracker) at acquisition.
 */
import { fdatasync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Clock } from '../clock.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import { kDeliver, type Device } from './device.js';
import type { Holdings } from './holdings.js';
import { PcmHelper, type HelperSpec } from './os/pcm-helper.js';

export interface ServiceContext {
  device: Device;
  holdings: Holdings;
  clock: Clock;
  /** Resources as the driver's domain sees them. */
  grants: readonly import('../isolation/protocol.js').ResourceGrant[];
  sharesMemory: boolean;
  /** Runs a timer callback in the driver (through the kernel->driver tap). */
  fireTimer(timerId: number): void;
  log(level: string, message: string): void;
  /** Cap on buffer memory one driver instance may hold. */
  bufferLimitBytes: number;
}

export type KernelService = (args: any, context: ServiceContext) => unknown;

class BadCall extends Error {}
const need = (ok: boolean, message: string): void => { if (!ok) throw new BadCall(message); };
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

let nextTimerId = 1;

/**
 * PulseAudio clients the kernel runs for sound drivers, by id; and per device the ones still
 * finishing after their driver let go (a new one waits for them, so two never play at once).
 */
const helpers = new Map<number, { helper: PcmHelper; stop: 'drain' | 'kill' }>();
const finishing = new WeakMap<Device, Set<Promise<void>>>();
let nextHelperId = 1;
const PULSE_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

function ownHelper(args: { helperId?: unknown } | undefined, holdings: Holdings, service: string): PcmHelper {
  const id = args?.helperId;
  need(typeof id === 'number' && holdings.holds('helper', id), `${service}: helper ${String(id)} is not held by this driver`);
  return helpers.get(id as number)!.helper;
}

function checkHelperSpec(a: Partial<HelperSpec> | undefined): HelperSpec {
  need(typeof a === 'object' && a !== null, 'spawnHelper takes a helper description');
  const spec = a as HelperSpec;
  need(spec.program === 'pacat' || spec.program === 'parec', 'spawnHelper: program must be pacat or parec');
  need(typeof spec.server === 'string' && isAbsolute(spec.server) && spec.server.length < 108 && !/[\s\0]/.test(spec.server),
    'spawnHelper: server must be an absolute socket path');
  let socket = false;
  try {
    socket = statSync(spec.server).isSocket();
  } catch (err) {
    // The server is not running (it crashed, or is restarting): the device's state, not a bad call.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ShadowError(ErrorCodes.IO, `spawnHelper: no PulseAudio server at ${spec.server}`);
  }
  need(socket, `spawnHelper: ${spec.server} is not a socket`);
  need(typeof spec.device === 'string' && PULSE_NAME.test(spec.device), 'spawnHelper: device must be a PulseAudio sink or source name');
  need(['u8', 's16le', 's32le', 'f32le'].includes(spec.format), 'spawnHelper: format must be u8, s16le, s32le or f32le');
  need(isInt(spec.rate, 1000, 384_000), 'spawnHelper: rate must be an integer from 1000 to 384000');
  need(isInt(spec.channels, 1, 8), 'spawnHelper: channels must be from 1 to 8');
  need(isInt(spec.latencyMs, 1, 2000), 'spawnHelper: latencyMs must be from 1 to 2000');
  need(typeof spec.streamName === 'string' && PULSE_NAME.test(spec.streamName), 'spawnHelper: streamName must be a plain name');
  return { program: spec.program, server: spec.server, device: spec.device, format: spec.format, rate: spec.rate,
    channels: spec.channels, latencyMs: spec.latencyMs, streamName: spec.streamName };
}

export const kernelServices: Record<string, KernelService> = {
  register(info, { device }) {
    const problem = device.contract.registration.validate(info, device.resources);
    need(problem === undefined, `register: ${problem}`);
    if (device.state.info !== undefined) {
      const mismatch = device.contract.registration.compatible(device.state.info, info);
      need(mismatch === undefined, `register: ${mismatch}`);
    }
    device.state.info = { ...(info as Record<string, unknown>) };
    return undefined;
  },

  acquire(args: { name?: unknown }, { grants, holdings }) {
    const grant = grants.find((g) => g.name === args?.name);
    need(grant !== undefined, `acquire: resource ${String(args?.name)} was not granted to this driver`);
    if (!holdings.holds('resource', grant!.name)) {
      // Kernel-facing: the kernel keeps the descriptor open whatever the driver does.
      holdings.hold({ type: 'resource', id: grant!.name, kernelFacing: true, release: () => undefined });
    }
    return grant;
  },

  release(args: { name?: unknown }, { holdings }) {
    need(typeof args?.name === 'string' && holdings.drop('resource', args.name),
      `release: resource ${String(args?.name)} is not held by this driver`);
    return undefined;
  },

  /**
   * Makes a held resource's writes durable, on the kernel's own descriptor. Sandboxed process
   * domains cannot call fdatasync themselves (Node's permission model forbids it).
   */
  async sync(args: { name?: unknown }, { holdings, device }) {
    need(typeof args?.name === 'string' && holdings.holds('resource', args.name),
      `sync: resource ${String(args?.name)} is not held by this driver`);
    const resource = device.resources.find((r) => r.name === args.name);
    if (resource && resource.fd >= 0) await new Promise<void>((resolve, reject) => fdatasync(resource.fd, (e) => (e ? reject(e) : resolve())));
    return undefined;
  },

  setTimer(args: { ms?: unknown; repeat?: unknown }, { clock, holdings, fireTimer }) {
    need(isInt(args?.ms, 0, 3_600_000), 'setTimer: ms must be an integer from 0 to 3600000');
    need(holdings.count('timer') < 1024, 'setTimer: a driver may hold at most 1024 timers');
    const id = nextTimerId++;
    const repeat = args.repeat === true;
    const handle = repeat
      ? clock.every(Math.max(1, args.ms as number), () => fireTimer(id))
      : clock.after(args.ms as number, () => { holdings.drop('timer', id); fireTimer(id); });
    holdings.hold({ type: 'timer', id, kernelFacing: false, release: () => handle.cancel() });
    return id;
  },

  clearTimer(args: { timerId?: unknown }, { holdings }) {
    need(typeof args?.timerId === 'number' && holdings.drop('timer', args.timerId),
      `clearTimer: timer ${String(args?.timerId)} is not held by this driver`);
    return undefined;
  },

  allocBuffer(args: { bytes?: unknown }, context) {
    need(isInt(args?.bytes, 1, 256 * 1024 * 1024), 'allocBuffer: bytes must be an integer from 1 to 256 MiB');
    const bytes = args.bytes as number;
    need(context.holdings.bytesHeld() + bytes <= context.bufferLimitBytes,
      `allocBuffer: ${bytes} more bytes would exceed this driver's limit of ${context.bufferLimitBytes}`);
    context.holdings.hold({ type: 'buffer', id: `b${nextTimerId++}`, kernelFacing: false, bytes, release: () => undefined });
    return context.sharesMemory ? new Uint8Array(new SharedArrayBuffer(bytes)) : new Uint8Array(bytes);
  },

  upcall(args: { name?: unknown; args?: unknown }, { device }) {
    const name = typeof args?.name === 'string' ? args.name : '';
    const decl = Object.hasOwn(device.contract.upcalls, name) ? device.contract.upcalls[name] : undefined;
    need(decl !== undefined, `upcall: class ${device.contract.name} has no upcall ${name}`);
    const problem = decl!.validate?.(args.args);
    need(problem === undefined, `upcall ${name}: ${problem}`);
    device[kDeliver](name, args.args);
    return undefined;
  },

  /**
   * Starts a PulseAudio client (pacat or parec) for the driver. It is the driver's: held in
   * its holdings, ended when the driver fails (a playback client is let finish what it was
   * given, within a deadline; a capture client is killed). One client per direction per
   * driver; a new one waits until the device's previous clients are gone.
   */
  async spawnHelper(args: Partial<HelperSpec>, { device, holdings }) {
    const spec = checkHelperSpec(args);
    for (const [id, h] of helpers) {
      need(!(holdings.holds('helper', id) && h.helper.spec.program === spec.program), `spawnHelper: this driver already runs a ${spec.program}`);
    }
    need(holdings.count('helper') < 4, 'spawnHelper: a driver may hold at most 4 helpers');
    const previous = finishing.get(device);
    if (previous?.size) await Promise.all(previous);
    const id = nextHelperId++;
    const entry = { helper: new PcmHelper(spec), stop: spec.program === 'pacat' ? 'drain' as const : 'kill' as const };
    helpers.set(id, entry);
    const release = () => {
      const set = finishing.get(device) ?? new Set<Promise<void>>();
      finishing.set(device, set);
      const done: Promise<void> = (entry.stop === 'drain' ? entry.helper.drain() : entry.helper.kill())
        .then(() => { helpers.delete(id); set.delete(done); });
      set.add(done);
    };
    holdings.hold({ type: 'helper', id, kernelFacing: false, release });
    return id;
  },

  /** Playback: hands PCM to the driver's client; resolves once its pipe took it. */
  async helperWrite(args: { helperId?: unknown; data?: unknown }, { holdings }) {
    const helper = ownHelper(args, holdings, 'helperWrite');
    need(helper.spec.program === 'pacat', 'helperWrite: not a playback helper');
    need(args.data instanceof Uint8Array && args.data.length > 0 && args.data.length <= 4 << 20, 'helperWrite: data must be 1 byte to 4 MiB');
    await helper.write(args.data as Uint8Array);
    return undefined;
  },

  /** Capture: the next `bytes` the driver's client recorded. */
  helperRead(args: { helperId?: unknown; bytes?: unknown }, { holdings }) {
    const helper = ownHelper(args, holdings, 'helperRead');
    need(helper.spec.program === 'parec', 'helperRead: not a capture helper');
    need(isInt(args.bytes, 1, 4 << 20), 'helperRead: bytes must be from 1 to 4 MiB');
    return helper.read(args.bytes as number);
  },

  helperStatus(args: { helperId?: unknown }, { holdings }) {
    return ownHelper(args, holdings, 'helperStatus').status();
  },

  /** Ends the driver's client: `drain` lets a playback client play what it has first. */
  async stopHelper(args: { helperId?: unknown; drain?: unknown }, { holdings, device }) {
    const helper = ownHelper(args, holdings, 'stopHelper');
    helpers.get(args.helperId as number)!.stop = args.drain === true && helper.spec.program === 'pacat' ? 'drain' : 'kill';
    holdings.drop('helper', args.helperId as number);
    await Promise.all(finishing.get(device) ?? []);
    return undefined;
  },

  log(args: { level?: unknown; message?: unknown }, { log }) {
    need(typeof args?.message === 'string' && args.message.length <= 4096, 'log: message must be a string of at most 4096 chars');
    log(typeof args.level === 'string' ? args.level : 'info', args.message as string);
    return undefined;
  },
};

/**
 * Binds the service table to one driver instance. A bad call to a service that checks its
 * arguments before any await throws at once, not in a later task: the channel fails the driver
 * before it looks at anything else in the same batch (a write announced after a bad call must
 * not count as started: the driver never got its answer).
 */
export function servicesFor(context: ServiceContext) {
  return (name: string, args: unknown): Promise<unknown> => {
    const service = Object.hasOwn(kernelServices, name) ? kernelServices[name] : undefined;
    if (!service) throw new BadCall(`no kernel service ${name}`);
    return Promise.resolve(service(args, context));
  };
}
