/**
 * The body both built-in block drivers share: a device reached through a Medium. The driver
 * keeps its own state (open, write cache mode, statistics) like a real driver does, and
 * loses it when it dies; bringing it back is the shadow's job, not the driver's.
 */
import {
  DeviceError, zeroStats, type BlockDriver, type BlockStats, type KernelServices, type WriteCache,
} from '../../classes/block/contract.js';
import { mediumFor, type Medium } from './medium.js';

export interface DiskDriverOptions {
  /** The resource that holds the medium. */
  resource: string;
  /** Whether the medium itself is read-only (a read-only image). */
  readOnly(medium: Medium, grantReadOnly: boolean): boolean;
}

export function diskDriver(kernel: KernelServices, options: DiskDriverOptions): BlockDriver {
  let medium: Medium | undefined;
  let blockSize = 4096;
  let opened: { readOnly: boolean } | undefined;
  let writeCache: WriteCache = 'writeback';
  const stats: BlockStats = zeroStats();

  const ready = (): Medium => {
    if (!medium || !opened) throw new DeviceError('ENODEV', 'the disk is not open');
    return medium;
  };

  return {
    async init({ config }) {
      const grant = await kernel.acquire(options.resource);
      medium = mediumFor(grant, () => kernel.sync(options.resource));
      blockSize = Number(config.blockSize ?? 4096);
      const readOnly = options.readOnly(medium, grant.readOnly);
      const sizeBytes = medium.sizeBytes - (medium.sizeBytes % blockSize);
      await kernel.register({ sizeBytes, blockSize, readOnly });
    },
    open({ readOnly }) {
      opened = { readOnly };
    },
    close() {
      opened = undefined;
    },
    configure({ value }) {
      writeCache = value;
    },
    read({ offset, length, into }) {
      ready().read(offset, into.subarray(0, length));
      stats.reads++;
      stats.bytesRead += length;
      return into.length === length ? into : into.subarray(0, length);
    },
    async write({ offset, data }) {
      const m = ready();
      m.write(offset, data);
      if (writeCache === 'writethrough') await m.sync();
      stats.writes++;
      stats.bytesWritten += data.length;
    },
    async flush() {
      await ready().sync();
      stats.flushes++;
    },
    discard({ offset, length }) {
      ready().zero(offset, length);
      stats.discards++;
    },
    geometry() {
      const m = medium;
      if (!m) throw new DeviceError('ENODEV', 'the disk is not initialized');
      return { sizeBytes: m.sizeBytes - (m.sizeBytes % blockSize), blockSize, readOnly: options.readOnly(m, false) };
    },
    stats() {
      return { ...stats };
    },
  };
}
