/**
 * The kernel: the trusted side. It owns the device registry, the device objects applications
 * hold, and the host resources devices use. It knows nothing of taps, shadows or the shadow
 * manager: those are installed behind its devices from outside.
 */
import type { ClassContract } from '../classes/contract.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import type { HostResource } from '../isolation/domain.js';
import { Device, kSetStatus } from './device.js';
import { closeResource, openResource, type OpenOptions, type ResourceSpec } from './resources.js';

export class Kernel {
  readonly #devices = new Map<string, Device>();

  /** Creates a device and opens the host resources it will use. */
  createDevice(name: string, contract: ClassContract, resources: ResourceSpec[] = [], options: OpenOptions = { sharedMemory: true }): Device {
    if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(name)) {
      throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `device name ${JSON.stringify(name)} is not valid`);
    }
    if (this.#devices.has(name)) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `device ${name} exists already`);
    const opened: HostResource[] = [];
    try {
      for (const spec of resources) opened.push(openResource(spec, options));
    } catch (err) {
      opened.forEach(closeResource);
      throw new ShadowError(ErrorCodes.NOT_FOUND, `cannot open a resource of ${name}: ${(err as Error).message}`, { cause: err });
    }
    const device = new Device(name, contract, opened);
    this.#devices.set(name, device);
    return device;
  }

  device(name: string): Device | undefined {
    return this.#devices.get(name);
  }

  get devices(): Device[] {
    return [...this.#devices.values()];
  }

  /** Removes a device: it is closed for applications and its host resources are closed. */
  removeDevice(name: string): void {
    const device = this.#devices.get(name);
    if (!device) return;
    this.#devices.delete(name);
    device[kSetStatus]('closed');
    device.resources.forEach(closeResource);
  }
}
