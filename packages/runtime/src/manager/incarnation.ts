/**
 * One incarnation of a driver: a domain, the channel to it, the object tracker of what it
 * holds, and the tap on its calls into the kernel. Recovery throws an incarnation away whole
 * and starts another; the device and its kernel-facing resources stay.
 */
import type { Clock } from '../clock.js';
import { DriverFailure } from '../errors.js';
import { DriverChannel } from '../isolation/channel.js';
import { createDomain } from '../isolation/create-domain.js';
import type { SharedPool } from '../isolation/shared-pool.js';
import type { BusyPoll } from '../isolation/busy-poll.js';
import type { Domain, DomainKind, HostResource, Sandbox } from '../isolation/domain.js';
import type { Device } from '../kernel/device.js';
import { readMemory, resourceGone, takeInput, writeMemory } from '../kernel/resources.js';
import { servicesFor } from '../kernel/services.js';
import { LineSplitter, type DriverLogSource } from '../observe/driver-log.js';
import { Tap, type CallTarget } from '../taps/tap.js';
import { ObjectTracker } from '../tracker/object-tracker.js';

export interface IncarnationOptions {
  device: Device;
  driverUrl: string;
  /** Domain extensions loaded beside the driver (the fault injector, when installed). */
  extensions: string[];
  domain: DomainKind;
  clock: Clock;
  memoryLimitMb: number;
  sandbox: Sandbox | undefined;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  deadlineScale: number;
  bufferLimitBytes: number;
  pool: SharedPool;
  busyPoll?: BusyPoll;
  /**
   * A domain started before the device was known (a shared spare, its resources already lent),
   * and whether it had booted: used instead of starting one. The incarnation owns it from here.
   */
  spare?: { domain: Domain; booted: boolean };
  /** Runs a kernel timer's callback in the driver instance that set it. */
  fireTimer(incarnation: Incarnation, timerId: number): void;
  failed(incarnation: Incarnation, failure: DriverFailure): void;
  /** The device itself is gone, as the kernel's own check of its resources confirmed. */
  deviceGone(incarnation: Incarnation, reason: string): void;
  /** A reply this driver sent after it was declared failed (see ChannelHandlers.late). */
  late?(incarnation: Incarnation, entry: string, args: unknown, value: unknown): void;
  /** A kernel-service call of this driver the kernel never answered (see ChannelHandlers.unanswered). */
  unanswered?(incarnation: Incarnation, name: string, args: unknown): void;
  /** A line the driver logged (kernel.log) or wrote to its stdout or stderr; raw, untrusted. */
  log(level: string, message: string, source: DriverLogSource): void;
}

let nextIncarnation = 1;

export class Incarnation {
  readonly id = nextIncarnation++;
  /** The driver module this instance runs (which version, for status and live update). */
  readonly driverUrl: string;
  /** Its domain was a shared spare already started when it was taken (recovery paid no thread start). */
  readonly fromSpare: boolean;
  readonly channel: DriverChannel;
  readonly tracker = new ObjectTracker();
  /** Driver -> kernel: where this driver's kernel-service calls go. */
  readonly serviceTap: Tap;
  /** The kernel's services bound to this incarnation (its holdings, its grants). */
  readonly kernelServices: CallTarget;

  readonly #device: Device;

  constructor(options: IncarnationOptions) {
    const { device } = options;
    this.#device = device;
    this.driverUrl = options.driverUrl;
    this.fromSpare = options.spare?.booted ?? false;
    const domain = options.spare?.domain ?? createDomain(options.domain, {
      resources: [...device.resources], memoryLimitMb: options.memoryLimitMb, sandbox: options.sandbox,
    });
    this.kernelServices = servicesFor({
      device,
      holdings: this.tracker,
      clock: options.clock,
      grants: domain.grants,
      sharesMemory: domain.sharesMemory,
      fireTimer: (timerId) => options.fireTimer(this, timerId),
      bufferLimitBytes: options.bufferLimitBytes,
      log: (level, message) => options.log(level, message, 'kernel.log'),
    });
    if (domain.onOutput) {
      const lines = {
        stdout: new LineSplitter((line) => options.log('info', line, 'stdout')),
        stderr: new LineSplitter((line) => options.log('error', line, 'stderr')),
      };
      domain.onOutput((stream, chunk) => lines[stream].push(chunk));
    }
    this.serviceTap = new Tap(`${device.name}#${this.id}:driver->kernel`, { target: this.kernelServices });
    this.channel = new DriverChannel(domain, {
      contract: device.contract,
      driverUrl: options.driverUrl,
      extensions: options.extensions,
      clock: options.clock,
      heartbeatMs: options.heartbeatMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      deadlineScale: options.deadlineScale,
      pool: options.pool,
      ...(options.busyPoll ? { busyPoll: options.busyPoll } : {}),
      gone: () => deviceGone(device),
      takeInput: (name, max) => {
        const resource = device.resources.find((r) => r.name === name && r.fd >= 0);
        return resource ? takeInput(resource, max) : undefined;
      },
      readMemory: (name, at, into) => {
        const resource = this.#memory(name, at, into.length);
        if (typeof resource === 'string') return resource;
        readMemory(resource, at, into);
        return undefined;
      },
      writeMemory: (name, at, data) => {
        const resource = this.#memory(name, at, data.length);
        if (typeof resource === 'string') return resource;
        writeMemory(resource, at, data);
        return undefined;
      },
    }, {
      service: (name, args) => this.serviceTap.invoke(name, args),
      failed: (failure) => options.failed(this, failure),
      deviceGone: (reason) => options.deviceGone(this, reason),
      ...(options.unanswered ? { unanswered: (name: string, args: unknown) => options.unanswered!(this, name, args) } : {}),
      ...(options.late ? { late: (entry: string, args: unknown, value: unknown) => options.late!(this, entry, args, value) } : {}),
    });
  }

  /**
   * The device memory `name` the kernel copies to or from for this driver (`length` bytes at
   * `at`), or what is wrong with the answer that named it.
   */
  #memory(name: string, at: number, length: number): HostResource | string {
    const resource = this.#device.resources.find((r) => r.name === name && (r.memory !== undefined || r.kernelCopies === true));
    if (!resource) return `answered with ${name}, which is no device memory the kernel copies`;
    if (!this.tracker.holds('resource', name)) return `answered with ${name}, which it does not hold`;
    if (at + length > resource.sizeBytes) return `answered ${length} bytes at ${at} of ${name}, past its ${resource.sizeBytes} bytes`;
    return resource;
  }

  /** The driver module is loaded in its domain (a standby in this state is truly warm). */
  loaded = false;

  /** Starts the domain and loads the driver module (not yet initialized). */
  async load(): Promise<this> {
    await this.channel.load();
    this.loaded = true;
    return this;
  }

  get call(): CallTarget {
    return (entry, args) => this.channel.call(entry, args);
  }

  /** Stop: the domain is gone when this resolves, so the old driver can touch nothing. */
  async stop(): Promise<void> {
    await this.channel.close();
  }

  #retired: Promise<void> | undefined;

  /**
   * The one way an incarnation ends (detach, recovery, a dead standby, a failed start): its
   * domain stopped, then everything its tracker holds released. Stopping alone left a failed
   * start's repeating kernel timer running past close. Idempotent: a second call waits for
   * the first. `step` times the two phases for recovery.
   */
  retire(step: RetireStep = (_phase, run) => run()): Promise<void> {
    this.#retired ??= (async () => {
      try {
        await step('stop', () => this.stop());
      } finally {
        await step('release', () => { this.tracker.releaseAll(); });
      }
    })();
    return this.#retired;
  }
}

/** Why the device's resources are gone, by the kernel's own check of each; undefined while they are there. */
export function deviceGone(device: Device): string | undefined {
  for (const resource of device.resources) {
    const reason = resourceGone(resource);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

export type RetireStep = (phase: 'stop' | 'release', run: () => void | Promise<void>) => void | Promise<void>;
