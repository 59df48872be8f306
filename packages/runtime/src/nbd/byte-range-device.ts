/**
 * Any byte range over a block device: NBD clients (nbdinfo probes, qemu-img, qemu-io) send
 * requests that are not multiples of the block size, and the block class refuses those
 * (SD_ERR_MISALIGNED). Partial blocks at the edges of a write are read, patched and written
 * back whole (read-modify-write); large requests are split under the class's per-call limit.
 *
 * One instance per exported device, shared by all its connections: two read-modify-writes of
 * the same block from different requests (or connections) would otherwise each write back the
 * other's old bytes, losing a write that the client was told had completed.
 */
import type { BlockDevice } from '../kernel/block-device.js';

/** Per device call: well under the class's 16 MiB limit and its per-call deadline. */
const CHUNK = 2 * 1024 * 1024;

/**
 * Exclusive locks on block ranges, granted first come, first served among overlapping ranges.
 * A lock nothing overlaps is granted at once (the release function itself, no promise): at a
 * client's queue depth of 32 that is nearly every request.
 */
class RangeLocks {
  readonly #held = new Set<{ start: number; end: number; released: Promise<void> | undefined; release: () => void }>();

  acquire(start: number, end: number): (() => void) | Promise<() => void> {
    let earlier: Promise<void>[] | undefined;
    for (const h of this.#held) {
      if (h.start < end && start < h.end) (earlier ??= []).push(h.released ??= new Promise<void>((r) => { h.release = r; }));
    }
    const entry = { start, end, released: undefined as Promise<void> | undefined, release: () => {} };
    this.#held.add(entry);
    const release = () => {
      this.#held.delete(entry);
      entry.release();
    };
    return earlier ? Promise.all(earlier).then(() => release) : release;
  }
}

/** Runs every job to the end (none keeps touching a buffer after we answer), then throws the first error. */
async function settleAll(jobs: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

export class ByteRangeDevice {
  readonly device: BlockDevice;
  readonly blockSize: number;
  readonly #locks = new RangeLocks();

  constructor(device: BlockDevice, blockSize: number) {
    this.device = device;
    this.blockSize = blockSize;
  }

  /** Fills `into` (exactly `length` bytes) with the device's bytes at `offset`. */
  async read(offset: number, length: number, into: Uint8Array): Promise<void> {
    const a0 = this.#down(offset);
    const a1 = this.#up(offset + length);
    if (a0 === offset && a1 === offset + length) return this.#readAligned(offset, into.subarray(0, length));
    const whole = new Uint8Array(a1 - a0);
    await this.#readAligned(a0, whole);
    into.set(whole.subarray(offset - a0, offset - a0 + length));
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.#mutate(offset, data.length, data);
  }

  /** Writes zeroes (NBD_CMD_WRITE_ZEROES): reads back as zero whatever the driver does on discard. */
  zero(offset: number, length: number): Promise<void> {
    return this.#mutate(offset, length, undefined);
  }

  /** Discards the whole blocks inside the range; partial blocks are left alone (a trim is advisory). */
  async trim(offset: number, length: number): Promise<void> {
    const i0 = this.#up(offset);
    const i1 = this.#down(offset + length);
    if (i0 >= i1) return;
    const lock = this.#locks.acquire(i0, i1);
    const release = typeof lock === 'function' ? lock : await lock;
    try {
      await this.device.discard(i0, i1 - i0);
    } finally {
      release();
    }
  }

  flush(): Promise<void> {
    return this.device.flush();
  }

  #down(n: number): number {
    return n - (n % this.blockSize);
  }

  #up(n: number): number {
    return this.#down(n + this.blockSize - 1);
  }

  async #readAligned(offset: number, into: Uint8Array): Promise<void> {
    if (into.length <= CHUNK) {
      await this.device.read(offset, into.length, into);
      return;
    }
    const jobs: Promise<unknown>[] = [];
    for (let at = 0; at < into.length; at += CHUNK) {
      const part = into.subarray(at, Math.min(at + CHUNK, into.length));
      jobs.push(this.device.read(offset + at, part.length, part));
    }
    await settleAll(jobs);
  }

  /** Writes `data` (or zeroes when undefined) over [offset, offset + length). */
  async #mutate(offset: number, length: number, data: Uint8Array | undefined): Promise<void> {
    if (length === 0) return;
    const end = offset + length;
    const a0 = this.#down(offset);
    const a1 = this.#up(end);
    const i0 = this.#up(offset);
    const i1 = this.#down(end);
    const lock = this.#locks.acquire(a0, a1);
    const release = typeof lock === 'function' ? lock : await lock;
    try {
      // Whole blocks within one device call (most requests): no partial blocks, no job list.
      if (data && offset === a0 && end === a1 && length <= CHUNK) {
        await this.device.write(offset, data);
        return;
      }
      const jobs: Promise<unknown>[] = [];
      if (i0 >= i1) {
        // No whole block inside: one or two partial blocks, patched together.
        jobs.push(this.#patch(a0, a1, offset, end, data, offset));
      } else {
        if (offset < i0) jobs.push(this.#patch(a0, i0, offset, i0, data, offset));
        if (end > i1) jobs.push(this.#patch(i1, a1, i1, end, data, offset));
        for (let at = i0; at < i1; at += CHUNK) {
          const n = Math.min(CHUNK, i1 - at);
          // Zeroes are allocated per call, not kept: V8 counts ArrayBuffers the kernel holds for good
          // with its heap, and a few MiB of them set off full collections (bulk-region.ts).
          const part = data ? data.subarray(at - offset, at - offset + n) : new Uint8Array(n);
          jobs.push(this.device.write(at, part));
        }
      }
      await settleAll(jobs);
    } finally {
      release();
    }
  }

  /** Read-modify-write of blocks [b0, b1): bytes [from, to) come from `data` (which starts at `dataOffset`) or are zeroed. */
  async #patch(b0: number, b1: number, from: number, to: number, data: Uint8Array | undefined, dataOffset: number): Promise<void> {
    const block = new Uint8Array(b1 - b0);
    await this.device.read(b0, block.length, block);
    if (data) block.set(data.subarray(from - dataOffset, to - dataOffset), from - b0);
    else block.fill(0, from - b0, to - b0);
    await this.device.write(b0, block);
  }
}
