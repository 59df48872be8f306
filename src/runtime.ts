/**
 * The composition root: a kernel and a shadow manager, and typed faces for each class's
 * devices. This is what applications create.
 */
import type { Clock } from './clock.js';
import type { InjectedFault } from './faults/fault-kinds.js';
import { BlockDevice } from './kernel/block-device.js';
import type { Device } from './kernel/device.js';
import { Kernel } from './kernel/kernel.js';
import { ShadowManager, type DriverSpec } from './manager/shadow-manager.js';

export interface RuntimeOptions {
  clock?: Clock;
  random?: () => number;
}

export class Runtime {
  readonly kernel = new Kernel();
  readonly manager: ShadowManager;
  readonly #faces = new WeakMap<Device, BlockDevice>();

  constructor(options: RuntimeOptions = {}) {
    this.manager = new ShadowManager(this.kernel, options);
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

  inject(deviceName: string, fault: InjectedFault): void {
    this.manager.inject(deviceName, fault);
  }

  detach(deviceName: string): Promise<void> {
    return this.manager.detach(deviceName);
  }

  /** Stops every driver and closes every device; resolves when all domains are gone. */
  close(): Promise<void> {
    return this.manager.close();
  }
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime(options);
}
