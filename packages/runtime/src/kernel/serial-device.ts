/**
 * The serial device as applications use it: the same object for the device's whole life,
 * whatever happens to the drivers behind it. Its calls are serialport's binding calls; the
 * drop-in binding (frontends/serialport-binding.ts) and the pty frontend are built on it.
 */
import type { ModemLines, ModemStatus, SerialSettings } from '../classes/serial/contract.js';
import type { Device } from './device.js';

export class SerialDevice {
  readonly device: Device;
  /** Numbers writes, so the kernel can tell a write a failed driver never started. */
  #seq = 0;

  constructor(device: Device) {
    this.device = device;
  }

  get name(): string {
    return this.device.name;
  }

  get isOpen(): boolean {
    return this.device.state.open.has('port');
  }

  async open(settings: SerialSettings): Promise<void> { await this.device.call('open', settings); }
  async close(): Promise<void> { await this.device.call('close', {}); }
  async update(baudRate: number): Promise<void> { await this.device.call('update', { baudRate }); }
  /** Drives the modem lines; every flag is sent (missing ones as serialport's defaults), so the last call is the whole state. */
  async set(lines: Partial<ModemLines>): Promise<void> {
    await this.device.call('set', { brk: false, cts: false, dsr: false, dtr: true, rts: true, ...lines });
  }
  async get(): Promise<ModemStatus> { return (await this.device.call('get', {})) as ModemStatus; }
  async getBaudRate(): Promise<number> { return ((await this.device.call('getBaudRate', {})) as { baudRate: number }).baudRate; }
  /** Up to `length` bytes; waits at most `waitMs` for the first (an empty array when none came). */
  async read(length: number, waitMs = 200): Promise<Uint8Array> {
    return (await this.device.call('read', { length, waitMs })) as Uint8Array;
  }
  /** Resolves once the port took every byte. */
  async write(data: Uint8Array): Promise<void> { await this.device.call('write', { seq: this.#seq++, data }); }
  async flush(): Promise<void> { await this.device.call('flush', {}); }
  async drain(): Promise<void> { await this.device.call('drain', {}); }
}
