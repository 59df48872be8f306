/**
 * The block device as a frontend uses it, counted: each request, its bytes, its errors by
 * code and the requests in flight go to the device's stats and the metrics. It is a
 * BlockDevice over the same kernel device, so the NBD server takes it as it is.
 */
import { BlockDevice } from '../kernel/block-device.js';
import type { Device } from '../kernel/device.js';
import { ErrorCodes } from '../errors.js';
import { BYTES_READ, BYTES_WRITTEN, type DeviceStats } from './device-stats.js';
import type { Logger } from './log.js';
import type { ServiceMetrics } from './metrics.js';

const REFUSED = new Set<unknown>([ErrorCodes.GAVE_UP, ErrorCodes.DEVICE_GONE]);

export class CountedBlockDevice extends BlockDevice {
  readonly #stats: DeviceStats;
  readonly #metrics: ServiceMetrics;
  readonly #log: Logger;

  constructor(device: Device, stats: DeviceStats, metrics: ServiceMetrics, log: Logger) {
    super(device);
    this.#stats = stats;
    this.#metrics = metrics;
    this.#log = log;
  }

  /** Why no new client may use the device (its driver gave up), or undefined while it serves. */
  refusal(): string | undefined {
    const gaveUp = this.#stats.gaveUp;
    return gaveUp ? `${this.name}: the driver gave up (${gaveUp.reason}); no new clients until it is attached again` : undefined;
  }

  /** Counts one request around the device's own call: no await of its own, no extra turn. */
  #count<T>(entry: string, bytes: number, direction: 'read' | 'write' | undefined, call: () => Promise<T>): Promise<T> {
    const device = this.name;
    this.#stats.inFlight++;
    this.#metrics.inFlight.inc({ device });
    let running: Promise<T>;
    try {
      running = call();
    } catch (err) {
      running = Promise.reject(err);
    }
    return running.then((result) => {
      this.#done(device);
      this.#stats.requests++;
      this.#metrics.requests.inc({ device, entry });
      if (direction) {
        this.#stats.bytes.counts[direction === 'read' ? BYTES_READ : BYTES_WRITTEN] += bytes;
        this.#metrics.bytes.inc({ device, direction }, bytes);
      }
      return result;
    }, (err: unknown) => {
      this.#done(device);
      this.#stats.errors++;
      this.#metrics.requests.inc({ device, entry });
      const code = (err as { code?: unknown }).code;
      this.#metrics.errors.inc({ device, entry, code: String(code ?? 'unknown') });
      // Each request a client is refused because the driver gave up says so, naming the device:
      // the client only sees EIO.
      if (REFUSED.has(code)) {
        this.#log.warn({ event: 'request-refused', device, entry, code, reason: this.#stats.gaveUp?.reason }, `${device}: ${entry} answered EIO: ${(err as Error).message}`);
      }
      throw err;
    });
  }

  #done(device: string): void {
    this.#stats.inFlight--;
    this.#metrics.inFlight.dec({ device });
  }

  override read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    return this.#count('read', length, 'read', () => super.read(offset, length, into));
  }

  override write(offset: number, data: Uint8Array): Promise<void> {
    return this.#count('write', data.length, 'write', () => super.write(offset, data));
  }

  override flush(): Promise<void> {
    return this.#count('flush', 0, undefined, () => super.flush());
  }

  override discard(offset: number, length: number): Promise<void> {
    return this.#count('discard', 0, undefined, () => super.discard(offset, length));
  }
}
