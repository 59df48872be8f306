/**
 * The block device as applications use it. A thin typed face over the kernel's Device: the
 * same object for the device's whole life, whatever happens to the drivers behind it.
 */
import type { BlockInfo, BlockStats, WriteCache } from '../classes/block/contract.js';
import type { Device } from './device.js';

export class BlockDevice {
  readonly device: Device;

  constructor(device: Device) {
    this.device = device;
  }

  get name(): string {
    return this.device.name;
  }

  async open(options: { readOnly?: boolean } = {}): Promise<void> {
    await this.device.call('open', { readOnly: options.readOnly ?? false });
  }

  async close(): Promise<void> {
    await this.device.call('close', {});
  }

  async configure(setting: 'writeCache', value: WriteCache): Promise<void> {
    await this.device.call('configure', { setting, value });
  }

  /**
   * Reads `length` bytes at `offset`. With `into` (at least `length` bytes) the data lands in
   * the caller's buffer and that buffer (or its first `length` bytes) is returned; without it,
   * a new array is.
   */
  async read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    return (await this.device.call('read', into ? { offset, length, into } : { offset, length })) as Uint8Array;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await this.device.call('write', { offset, data });
  }

  /**
   * Makes durable every write issued before it, whether or not it had completed: the driver's
   * flush starts only once the calls sent before it were answered, so an application may send
   * its writes and the flush together and wait for all of them.
   */
  async flush(): Promise<void> {
    await this.device.call('flush', {});
  }

  async discard(offset: number, length: number): Promise<void> {
    await this.device.call('discard', { offset, length });
  }

  async geometry(): Promise<BlockInfo> {
    return (await this.device.call('geometry', {})) as BlockInfo;
  }

  async stats(): Promise<BlockStats> {
    return (await this.device.call('stats', {})) as BlockStats;
  }
}
