/**
 * The disk object libext2fs reads and writes through, over a shadowed BlockDevice. libext2fs
 * addresses bytes (the superblock sits at byte 1024, 1 KiB long); the block device takes
 * whole blocks, so partial blocks go through the NBD export's byte-range layer
 * (read-modify-write under a range lock). The buffers libext2fs lends view WebAssembly
 * memory: writes are copied out before anything waits.
 *
 * A device error reaches libext2fs only as EIO, so the adapter keeps the first one (its
 * code, e.g. SD_ERR_GAVE_UP) for the application to report, and counts them by code.
 */
import type { Ext2fsDisk } from 'ext2fs';
import type { BlockStats } from 'shadow-drivers';
import type { BlockDevice } from 'shadow-drivers';
import { ByteRangeDevice } from 'shadow-drivers';

/** What the filesystem asked of the disk: the block class's own statistics, counted on this side. */
export type DiskCounters = BlockStats;

export class BlockDisk implements Ext2fsDisk {
  readonly device: BlockDevice;
  readonly counters: DiskCounters = { reads: 0, writes: 0, flushes: 0, discards: 0, bytesRead: 0, bytesWritten: 0 };
  /** The first device error seen, if any. */
  firstError: { code: string; message: string; call: string } | undefined;
  readonly errorsByCode: Record<string, number> = {};
  readonly #bytes: ByteRangeDevice;

  constructor(device: BlockDevice, blockSize: number) {
    this.device = device;
    this.#bytes = new ByteRangeDevice(device, blockSize);
  }

  read(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<{ bytesRead: number }> {
    return this.#guard('read', async () => {
      await this.#bytes.read(fileOffset, length, buffer.subarray(bufferOffset, bufferOffset + length));
      this.counters.reads++;
      this.counters.bytesRead += length;
      return { bytesRead: length };
    });
  }

  write(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<{ bytesWritten: number }> {
    // A copy: the Buffer views WebAssembly memory, which must not be read after we return.
    const data = Uint8Array.prototype.slice.call(buffer, bufferOffset, bufferOffset + length);
    return this.#guard('write', async () => {
      await this.#bytes.write(fileOffset, data);
      this.counters.writes++;
      this.counters.bytesWritten += length;
      return { bytesWritten: length };
    });
  }

  discard(offset: number, length: number): Promise<void> {
    return this.#guard('discard', async () => {
      await this.#bytes.trim(offset, length);
      this.counters.discards++;
    });
  }

  flush(): Promise<void> {
    return this.#guard('flush', async () => {
      await this.#bytes.flush();
      this.counters.flushes++;
    });
  }

  async #guard<T>(call: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      const code = typeof e.code === 'string' ? e.code : 'unknown';
      this.firstError ??= { code, message: String(e.message ?? error), call };
      this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
      throw error;
    }
  }
}
