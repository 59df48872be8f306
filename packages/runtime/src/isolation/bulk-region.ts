/**
 * The process domain's data plane: bulk data (a write's bytes, a read's result) crosses in a
 * region both processes reach, an unlinked tmpfs file the kernel opens and lends the driver's
 * process as an inherited descriptor, instead of being serialized into the wire. The wire
 * carries only the slot (offset and length): one copy in (pwrite) and one out (pread, straight
 * into the application's buffer) in place of serialization, two socket copies and a
 * deserialization.
 *
 * One region per domain: it dies with the driver's process. A driver that scribbles on the
 * region (writes anywhere, truncates it) spoils only its own device's requests in flight, and
 * the kernel reads every slot through a length check: a short read is the driver's failure.
 * Slots are carved from the region by size class (4 KiB to 16 MiB) and handed out again; only
 * the pages a slot ever touched take memory. A request the region has no room for crosses the
 * wire as before.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bulk arguments and results smaller than this cross the wire: a pread and pwrite cost more than they save. */
export const REGION_THRESHOLD = 8 * 1024;
const MIN_CLASS = 12; // 4 KiB
const MAX_CLASS = 24; // 16 MiB
/** Address space of a region; only the pages slots touch are memory. */
const REGION_BYTES = 64 * 1024 * 1024;

export interface Slot {
  offset: number;
  length: number;
  cls: number;
}

let serial = 0;

export class BulkRegion {
  readonly sizeBytes: number;
  #fd: number;
  #bump = 0;
  readonly #free: number[][] = Array.from({ length: MAX_CLASS + 1 }, () => []);

  constructor(sizeBytes = REGION_BYTES) {
    const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const path = join(dir, `shadow-bulk-${process.pid}-${++serial}`);
    const fd = openSync(path, 'w+', 0o600);
    try {
      unlinkSync(path);
      ftruncateSync(fd, sizeBytes);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.#fd = fd;
    this.sizeBytes = sizeBytes;
  }

  /** The kernel's descriptor (-1 once closed): passed to the driver's process at its start. */
  get fd(): number {
    return this.#fd;
  }

  /** A slot of at least `length` bytes, or undefined when the region is closed or has no room. */
  take(length: number): Slot | undefined {
    if (this.#fd < 0) return undefined;
    const cls = Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, length))));
    if (cls > MAX_CLASS) return undefined;
    const reused = this.#free[cls]!.pop();
    if (reused !== undefined) return { offset: reused, length, cls };
    const size = 2 ** cls;
    // Slots are aligned to their size, so no slot straddles another's pages.
    const offset = Math.ceil(this.#bump / size) * size;
    if (offset + size > this.sizeBytes) return undefined;
    this.#bump = offset + size;
    return { offset, length, cls };
  }

  give(slot: Slot): void {
    if (this.#fd >= 0) this.#free[slot.cls]!.push(slot.offset);
  }

  /** Puts `data` into the slot (the kernel's side of a write). */
  put(slot: Slot, data: Uint8Array): void {
    writeAll(this.#fd, data, slot.offset);
  }

  /** Fills `into` from `offset`; false when the region held fewer bytes (the driver truncated it). */
  get(offset: number, into: Uint8Array): boolean {
    return readAll(this.#fd, into, offset);
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

export function writeAll(fd: number, data: Uint8Array, offset: number): void {
  for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, offset + done);
}

export function readAll(fd: number, into: Uint8Array, offset: number): boolean {
  for (let done = 0; done < into.length;) {
    const n = readSync(fd, into, done, into.length - done, offset + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}
