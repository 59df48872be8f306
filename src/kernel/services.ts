/**
 * The kernel services a driver may call, as a table. Each service checks its arguments and
 * the ownership of every object named; a bad call throws, and the channel turns that into a
 * `bad-kernel-call` failure of the driver. Objects a driver acquires are recorded in its
 * holdings (the object tracker) at acquisition.
 */
import { fdatasync } from 'node:fs';
import type { Clock } from '../clock.js';
import type { Device } from './device.js';
import type { Holdings } from './holdings.js';

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

export const kernelServices: Record<string, KernelService> = {
  register(info, { device }) {
    const problem = device.contract.registration.validate(info);
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
    device.deliver(name, args.args);
    return undefined;
  },

  log(args: { level?: unknown; message?: unknown }, { log }) {
    need(typeof args?.message === 'string' && args.message.length <= 4096, 'log: message must be a string of at most 4096 chars');
    log(typeof args.level === 'string' ? args.level : 'info', args.message as string);
    return undefined;
  },
};

/** Binds the service table to one driver instance. */
export function servicesFor(context: ServiceContext) {
  return async (name: string, args: unknown): Promise<unknown> => {
    const service = Object.hasOwn(kernelServices, name) ? kernelServices[name] : undefined;
    if (!service) throw new BadCall(`no kernel service ${name}`);
    return service(args, context);
  };
}
