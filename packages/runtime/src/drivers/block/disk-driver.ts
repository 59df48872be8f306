/**
 * The body both built-in block drivers share: a device reached through a Medium. The driver
 * keeps its own state (open, write cache mode, statistics) like a real driver does, and
 * loses it when it dies; bringing it back is the shadow's job, not the driver's.
 *
 * An fs call that fails with the device's errno (EIO from a bad sector, ENOSPC from a full
 * backing filesystem; the block class's table) is that request's DeviceError: the application
 * gets SD_ERR_IO for it and the driver keeps serving. Any other throw is a driver bug.
 */
import {
  blockClass, DeviceError, BlockCounters, type BlockDriver, type KernelServices, type ResourceGrant, type WriteCache,
} from '../../classes/block/contract.js';
import { mediumFor, type Medium } from './medium.js';

const { request: DEVICE_ERRNOS, gone: GONE_ERRNOS } = blockClass.deviceErrors!;

/** A system call's device errno as the request's DeviceError; anything else unchanged. */
function asDeviceError(err: unknown): unknown {
  if (err instanceof DeviceError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !(DEVICE_ERRNOS.includes(code) || GONE_ERRNOS.includes(code))) return err;
  return new DeviceError(code, err.message);
}

function onDevice<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw asDeviceError(err);
  }
}

async function onDeviceAsync(run: () => void | Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    throw asDeviceError(err);
  }
}

export interface DiskDriverOptions {
  /** The resource that holds the medium. */
  resource: string;
  /** Whether the medium itself is read-only (a read-only image). */
  readOnly(medium: Medium, grantReadOnly: boolean): boolean;
  /** How the granted resource is reached (default: mediumFor); tests put a failing medium here. */
  medium?(grant: ResourceGrant, syncByKernel: () => Promise<void>, config: Record<string, unknown>): Medium;
}

export function diskDriver(kernel: KernelServices, options: DiskDriverOptions): BlockDriver {
  let medium: Medium | undefined;
  /** The kernel copies reads and writes to and from this device memory itself (a process domain's medium). */
  let kernelCopies = false;
  let blockSize = 4096;
  let opened: { readOnly: boolean } | undefined;
  let writeCache: WriteCache = 'writeback';
  const counters = new BlockCounters();

  const ready = (): Medium => {
    if (!medium || !opened) throw new DeviceError('ENODEV', 'the disk is not open');
    return medium;
  };

  return {
    async init({ config }) {
      const grant = await kernel.acquire(options.resource);
      medium = (options.medium ?? mediumFor)(grant, () => kernel.sync(options.resource), config);
      kernelCopies = grant.kernelCopies === true && options.medium === undefined;
      blockSize = Number(config.blockSize ?? 4096);
      const readOnly = options.readOnly(medium, grant.readOnly);
      const sizeBytes = medium.sizeBytes - (medium.sizeBytes % blockSize);
      // Writes go straight to the medium the kernel holds: none is lost with this driver.
      await kernel.register({ sizeBytes, blockSize, readOnly, volatileCache: false });
    },
    open({ readOnly }) {
      opened = { readOnly };
    },
    close() {
      opened = undefined;
    },
    async configure({ value }) {
      // Turning the cache off makes what it holds durable first, as a disk does.
      if (value === 'writethrough' && writeCache === 'writeback' && medium) await onDeviceAsync(() => medium!.sync());
      writeCache = value;
    },
    read({ offset, length, into }) {
      const m = ready();
      if (kernelCopies) {
        // The bytes go from the medium to the caller in one copy, on the kernel's side (so do a write's).
        counters.count('read', length);
        return { from: options.resource, at: offset };
      }
      onDevice(() => m.read(offset, into.subarray(0, length)));
      counters.count('read', length);
      return into.length === length ? into : into.subarray(0, length);
    },
    async write({ offset, data }) {
      const m = ready();
      if (kernelCopies) {
        // Device memory: in the kernel's keeping once it has copied the bytes, nothing to sync.
        counters.count('write', data.length);
        return { to: options.resource, at: offset };
      }
      onDevice(() => m.write(offset, data));
      if (writeCache === 'writethrough') await onDeviceAsync(() => m.sync());
      counters.count('write', data.length);
    },
    async flush() {
      const m = ready();
      await onDeviceAsync(() => m.sync());
      counters.count('flush');
    },
    discard({ offset, length }) {
      const m = ready();
      onDevice(() => m.zero(offset, length));
      counters.count('discard');
    },
    geometry() {
      const m = medium;
      if (!m) throw new DeviceError('ENODEV', 'the disk is not initialized');
      return { sizeBytes: m.sizeBytes - (m.sizeBytes % blockSize), blockSize, readOnly: options.readOnly(m, false) };
    },
    stats() {
      return counters.stats();
    },
  };
}
