/**
 * The composition root: a kernel and a shadow manager, and typed faces for each class's
 * devices. This is what applications create.
 */
import type { Clock } from './clock.js';
import type { InjectedFault } from './faults/fault-kinds.js';
import { BlockDevice } from './kernel/block-device.js';
import type { Device } from './kernel/device.js';
import { NetDevice, type NetDeviceOptions } from './kernel/net-device.js';
import { SoundDevice } from './kernel/sound-device.js';
import { SerialDevice } from './kernel/serial-device.js';
import { Kernel } from './kernel/kernel.js';
import type { DriverSpec } from './manager/managed.js';
import { ShadowManager, type DriverStatus } from './manager/shadow-manager.js';
import { DriverCatalog } from './manager/driver-catalog.js';
import type { UpdateOptions, UpdateReport } from './manager/update.js';
import { builtInDrivers } from './drivers/index.js';
import type { DriverManifest } from './driver/manifest.js';
import { formatDriverLog, type DriverLogEvent } from './observe/driver-log.js';

/** A device spec's heap-limit default and domain-group name rule, for the service's config checks. */
export { GROUP_NAME, memoryLimitOf } from './manager/managed.js';
export { MAX_BUSY_POLL_US } from './isolation/busy-poll.js';
export interface RuntimeOptions {
  /**
   * Load the fault injector into drivers' domains so that `inject()` works: for tests, the
   * lab's campaigns and operators' fault drills. Off by default.
   */
  faultInjection?: boolean;
  clock?: Clock;
  random?: () => number;
  /**
   * Started domains (threads or processes) kept for devices attached with `warmStandby: 'shared'`, per driver
   * and heap limit (default 2; none is started until such a device is attached).
   */
  spareDomains?: number;
  /**
   * How long (µs) the kernel keeps polling for a domain's reply instead of sleeping, after a
   * request leaves for it: a reply that comes within the window costs no wake-up of the kernel's
   * thread (50–100 µs on a virtual machine). Adaptive: a device whose replies take longer is not
   * polled for a while, and nothing polls while more devices are busy than the host has cores
   * to spare. At most 1000. Default 0 (off): it trades cores for latency (docs/architecture.md).
   */
  busyPollUs?: number;
  /**
   * Where drivers' log lines go besides the manager's `log` event: `stderr` prints each on the
   * host's stderr as `[device] …` (what `shadowd export` does); `quiet` (the default, for
   * libraries) prints nothing.
   */
  driverLogs?: 'quiet' | 'stderr';
}

export class Runtime {
  readonly kernel = new Kernel();
  readonly manager: ShadowManager;
  readonly #faces = new WeakMap<Device, BlockDevice>();
  readonly #nets = new WeakMap<Device, NetDevice>();
  readonly #netFaces = new Set<NetDevice>();
  readonly #sounds = new WeakMap<Device, SoundDevice>();
  readonly #serials = new WeakMap<Device, SerialDevice>();

  constructor(options: RuntimeOptions = {}) {
    const catalog = new DriverCatalog();
    for (const manifest of builtInDrivers) catalog.register(manifest);
    this.manager = new ShadowManager(this.kernel, { clock: options.clock, random: options.random, faultInjection: options.faultInjection, catalog, spareDomains: options.spareDomains, busyPollUs: options.busyPollUs });
    if (options.driverLogs === 'stderr') this.manager.on('log', (e: DriverLogEvent) => process.stderr.write(formatDriverLog(e)));
  }

  /**
   * Adds a driver that devices can then name in `driver:` (see docs/writing-drivers.md). A bad
   * manifest, a class nobody registered or a name the class already has: SD_ERR_INVALID_ARGUMENT.
   */
  registerDriver(manifest: DriverManifest): void {
    this.manager.catalog.register(manifest);
  }

  /** A snapshot of one device's driver: its state, domain and pid, recoveries, standby. */
  status(deviceName: string): DriverStatus | undefined {
    return this.manager.status(deviceName);
  }

  /** Snapshots of every device's driver. */
  statuses(): DriverStatus[] {
    return this.manager.statuses();
  }

  /** Resolves once the device has a loaded warm standby. */
  standbyReady(deviceName: string): Promise<void> {
    return this.manager.standbyReady(deviceName);
  }

  attach(spec: DriverSpec): Promise<Device> {
    return this.manager.attach(spec);
  }

  /** Attaches a block driver and returns the block device applications use. */
  async attachBlock(spec: Omit<DriverSpec, 'className'>): Promise<BlockDevice> {
    return this.block(await this.manager.attach({ ...spec, className: 'block' }));
  }

  /** The one BlockDevice face of a device (the same object every time). */
  block(device: Device): BlockDevice {
    let face = this.#faces.get(device);
    if (!face) this.#faces.set(device, (face = new BlockDevice(device)));
    return face;
  }

  /** Attaches a NIC driver and returns the network device the kernel's stack uses. */
  async attachNet(spec: Omit<DriverSpec, 'className'>, options: NetDeviceOptions = {}): Promise<NetDevice> {
    return this.net(await this.manager.attach({ ...spec, className: 'net' }), options);
  }

  /** The one NetDevice face of a device (the same object every time). */
  net(device: Device, options: NetDeviceOptions = {}): NetDevice {
    let face = this.#nets.get(device);
    if (!face) {
      this.#nets.set(device, (face = new NetDevice(device, this.manager, options)));
      this.#netFaces.add(face);
    }
    return face;
  }

  /** Attaches a sound driver and returns the sound device applications use. */
  async attachSound(spec: Omit<DriverSpec, 'className'>): Promise<SoundDevice> {
    return this.sound(await this.manager.attach({ ...spec, className: 'sound' }));
  }

  /** The one SoundDevice face of a device (the same object every time). */
  sound(device: Device): SoundDevice {
    let face = this.#sounds.get(device);
    if (!face) this.#sounds.set(device, (face = new SoundDevice(device)));
    return face;
  }

  /**
   * Attaches a serial driver and returns the serial device applications use. The `serialport`
   * driver (native code) runs in a process domain unless the spec names another, and may read
   * the binding's own packages.
   */
  async attachSerial(spec: Omit<DriverSpec, 'className'>): Promise<SerialDevice> {
    return this.serial(await this.manager.attach(serialSpec(spec)));
  }

  /** The one SerialDevice face of a device (the same object every time). */
  serial(device: Device): SerialDevice {
    let face = this.#serials.get(device);
    if (!face) this.#serials.set(device, (face = new SerialDevice(device)));
    return face;
  }

  inject(deviceName: string, fault: InjectedFault): void {
    this.manager.inject(deviceName, fault);
  }

  /** A planned recovery of the device's driver: stopped and recovered as after a failure. */
  restart(deviceName: string): void {
    this.manager.restart(deviceName);
  }

  /**
   * Live update: replaces the device's driver with another version (a catalogue name or a
   * module path) while applications keep going; rolls back by itself if the new one fails.
   */
  update(deviceName: string, options: UpdateOptions): Promise<UpdateReport> {
    return this.manager.update(deviceName, options);
  }

  detach(deviceName: string): Promise<void> {
    return this.manager.detach(deviceName);
  }

  /** Stops every driver and closes every device; resolves when all domains are gone. */
  close(): Promise<void> {
    for (const face of this.#netFaces) face.close();
    return this.manager.close();
  }
}

/**
 * A serial device's spec. The `serialport` driver's manifest says the rest: native code (a
 * process domain unless the spec names another) and the binding's packages its sandbox reads.
 */
function serialSpec(spec: Omit<DriverSpec, 'className'>): DriverSpec {
  return { ...spec, className: 'serial' };
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(options);
}
