/**
 * A drop-in binding for the `serialport` package: one changed line in an existing program,
 *
 *     new SerialPort({ path, baudRate, binding: shadowBinding(runtime) })
 *
 * and the port is a shadowed serial device: its driver (by default serialport's own native
 * binding, in a process domain) may crash, hang or leak and the program sees a pause. It
 * implements @serialport/bindings-interface over a SerialDevice; the device for a path is
 * attached on the first open and detached when the port closes.
 */
import type { ModemLines, ModemStatus, SerialSettings } from '../classes/serial/contract.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import type { SerialDevice } from '../kernel/serial-device.js';
import type { Runtime } from '../runtime.js';

type SerialSpec = Parameters<Runtime['attachSerial']>[0];

export interface ShadowBindingOptions {
  /** The driver behind the port (default `serialport`); its config gets `path` added. */
  driver?: string;
  /** Extra fields of the device's spec (domain, recovery, restart policy...). */
  spec?: Partial<Omit<SerialSpec, 'name' | 'driver'>>;
  /** The device's name for a path (default `serial-` and the path's last part). */
  name?: (path: string) => string;
  /** How long one read waits for bytes before asking again, ms (default 200). */
  pollMs?: number;
}

/** bindings-interface's OpenOptions, as the serialport package passes them. */
export interface BindingOpenOptions extends SerialSettings {
  path: string;
  [key: string]: unknown;
}

/** The error serialport's stream treats as "the read was cancelled by close", not as a failure. */
function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

export class ShadowPortBinding {
  readonly openOptions: BindingOpenOptions;
  readonly device: SerialDevice;
  #open = true;
  readonly #detach: () => Promise<void>;
  readonly #pollMs: number;

  constructor(device: SerialDevice, openOptions: BindingOpenOptions, detach: () => Promise<void>, pollMs: number) {
    this.device = device;
    this.openOptions = openOptions;
    this.#detach = detach;
    this.#pollMs = pollMs;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  async close(): Promise<void> {
    if (!this.#open) throw new Error('Port is not open');
    this.#open = false;
    try { await this.device.close(); } finally { await this.#detach(); }
  }

  /** Like bindings-cpp: resolves with at least one byte, or rejects `canceled` once the port closes. */
  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!Buffer.isBuffer(buffer) || buffer.length < offset + length) throw new TypeError('"buffer" is not a Buffer large enough');
    for (;;) {
      if (!this.#open) throw canceled();
      let data: Uint8Array;
      try {
        data = await this.device.read(Math.min(length, 65536), this.#pollMs);
      } catch (err) {
        if (!this.#open) throw canceled();
        throw err;
      }
      if (data.length > 0) {
        buffer.set(data, offset);
        return { buffer, bytesRead: data.length };
      }
    }
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.#open) throw new Error('Port is not open');
    if (buffer.length > 0) await this.device.write(buffer);
  }

  async update(options: { baudRate: number }): Promise<void> { await this.device.update(options.baudRate); }
  async set(options: Partial<ModemLines>): Promise<void> { await this.device.set(options); }
  async get(): Promise<ModemStatus> { return this.device.get(); }
  async getBaudRate(): Promise<{ baudRate: number }> { return { baudRate: await this.device.getBaudRate() }; }
  async flush(): Promise<void> { await this.device.flush(); }
  async drain(): Promise<void> { await this.device.drain(); }
}

const defaultName = (path: string) => `serial-${path.split('/').pop()!.replace(/[^a-zA-Z0-9_.-]/g, '_')}`.slice(0, 64);

/** A serialport binding whose ports are shadowed serial devices of `runtime`. */
export function shadowBinding(runtime: Runtime, options: ShadowBindingOptions = {}) {
  const opened = new Set<string>();
  return {
    /** The ports this binding has open (the host's own ports are the plain binding's to list). */
    async list(): Promise<{ path: string; manufacturer: undefined }[]> {
      return [...opened].map((path) => ({ path, manufacturer: undefined }));
    },
    async open(openOptions: BindingOpenOptions): Promise<ShadowPortBinding> {
      if (typeof openOptions?.path !== 'string' || openOptions.path === '') {
        throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, '"path" is not a valid port');
      }
      const name = (options.name ?? defaultName)(openOptions.path);
      const driver = options.driver ?? 'serialport';
      const device = await runtime.attachSerial({
        ...options.spec, name, driver, config: { ...options.spec?.config, path: openOptions.path },
      });
      opened.add(openOptions.path);
      const detach = () => { opened.delete(openOptions.path); return runtime.detach(name); };
      const { path: _path, baudRate, dataBits, stopBits, parity, rtscts, xon, xoff, xany, hupcl } = openOptions;
      const settings = Object.fromEntries(Object.entries({ baudRate, dataBits, stopBits, parity, rtscts, xon, xoff, xany, hupcl })
        .filter(([, v]) => v !== undefined)) as unknown as SerialSettings;
      try {
        await device.open(settings);
      } catch (err) {
        await detach();
        throw err;
      }
      return new ShadowPortBinding(device, openOptions, detach, options.pollMs ?? 200);
    },
  };
}
