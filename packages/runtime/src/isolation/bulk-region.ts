/**
 * The process domain's data plane: bulk data (a write's bytes, a read's result) crosses in a
 * region both processes reach, instead of being serialized into the wire. The wire carries
 * only the slot (offset and length).
 *
 * The region is a sealed memfd: the kernel maps it (one memory copy in, one out, straight into
 * the application's buffer) and lends its descriptor to the driver's process, which reads and
 * writes it with pread and pwrite (a sandboxed driver may not load the native code a mapping
 * needs). The seals (no shrinking, no growing) are what make the mapping safe for the kernel: a
 * driver that truncated a mapped file would have the kernel's next copy fault (SIGBUS) and end
 * the host. Where memfd or the mapping is not available, the region is an unlinked tmpfs file
 * the kernel also reads and writes by descriptor, and a short read (a truncated region) is the
 * driver's failure.
 *
 * One region per domain: it dies with the driver's process. A driver that scribbles on it
 * spoils only its own device's requests in flight. Slots are carved by size class (4 KiB to
 * 16 MiB) and handed out again; only the pages a slot ever touched take memory. A request the
 * region has no room for crosses the wire as before.
 */
import { closeSync, existsSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SealedMemory } from '../kernel/os/sealed-memory.js';
import { readAll, writeAll } from './region-io.js';
import { SlotPool, type Slot } from './slot-pool.js';

export { REGION_THRESHOLD, type Slot } from './slot-pool.js';

/** Address space of a region; only the pages slots touch are memory. */
const REGION_BYTES = 64 * 1024 * 1024;
/**
 * The region's last part is the driver's own: its domain host puts there the bytes of the
 * upcalls it makes (a NIC's received frames), and the message names the run (`slots` of a
 * `service` message). The kernel reads them out at once, before it answers the call.
 */
const OUTBOUND_BYTES = 8 * 1024 * 1024;

let serial = 0;

function fileRegion(size: number): number {
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const path = join(dir, `shadow-bulk-${process.pid}-${++serial}`);
  const fd = openSync(path, 'w+', 0o600);
  try {
    unlinkSync(path);
    ftruncateSync(fd, size);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

export class BulkRegion {
  readonly sizeBytes: number;
  #fd: number;
  /** The kernel's mapping of a sealed memfd; undefined for a file region (and once closed). */
  #mapping: SealedMemory | undefined;
  readonly #slots: SlotPool;
  /** The driver's own part, [offset, length]. */
  readonly outbound: [offset: number, length: number];

  /** `mapped: false` makes a file region even where a mapping is possible (tests). */
  constructor(sizeBytes = REGION_BYTES, options: { mapped?: boolean } = {}) {
    this.#mapping = options.mapped === false ? undefined : SealedMemory.create('shadow-bulk', sizeBytes);
    this.#fd = this.#mapping?.fd ?? fileRegion(sizeBytes);
    this.sizeBytes = sizeBytes;
    const outbound = Math.min(OUTBOUND_BYTES, Math.floor(sizeBytes / 8));
    this.outbound = [sizeBytes - outbound, outbound];
    this.#slots = new SlotPool(0, sizeBytes - outbound);
  }

  /** The kernel's descriptor (-1 once closed): passed to the driver's process at its start. */
  get fd(): number {
    return this.#fd;
  }

  /** Whether the kernel reaches the region through a mapping (sealed) or by descriptor. */
  get mapped(): boolean {
    return this.#mapping !== undefined;
  }

  /** A slot of at least `length` bytes, or undefined when the region is closed or has no room. */
  take(length: number): Slot | undefined {
    return this.#fd < 0 ? undefined : this.#slots.take(length);
  }

  give(slot: Slot): void {
    if (this.#fd >= 0) this.#slots.give(slot);
  }

  /** Puts `data` into the slot (the kernel's side of a write). Throws where a file region's file system is full. */
  put(slot: Slot, data: Uint8Array, at = 0): void {
    const mapping = this.#mapping;
    const offset = slot.offset + at;
    if (!mapping) return writeAll(this.#fd, data, offset);
    mapping.put(offset, data);
  }

  /** Fills `into` from `offset`; false when the region held fewer bytes (a file region the driver truncated). */
  get(offset: number, into: Uint8Array): boolean {
    const mapping = this.#mapping;
    if (!mapping) return this.#fd >= 0 && readAll(this.#fd, into, offset);
    if (offset < 0 || offset + into.length > this.sizeBytes) return false;
    mapping.get(offset, into);
    return true;
  }

  close(): void {
    if (this.#fd < 0) return;
    const mapping = this.#mapping;
    // Forgotten before it is unmapped: nothing may copy to or from the mapping after.
    this.#mapping = undefined;
    if (mapping) mapping.close();
    else closeSync(this.#fd);
    this.#fd = -1;
  }
}
