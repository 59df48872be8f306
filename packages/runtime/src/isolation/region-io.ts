/**
 * Whole reads and writes of a region's descriptor (bulk-region.ts) at an offset: what the
 * domain's side uses (it has no mapping), and the kernel's where it could not map the region.
 */
import { readSync, writeSync } from 'node:fs';

export function writeAll(fd: number, data: Uint8Array, offset: number): void {
  for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, offset + done);
}

/** Fills `into` from `offset`; false when the descriptor held fewer bytes. */
export function readAll(fd: number, into: Uint8Array, offset: number): boolean {
  for (let done = 0; done < into.length;) {
    const n = readSync(fd, into, done, into.length - done, offset + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}
