/**
 * How a block driver reaches the bytes of its device: device memory shared with the kernel,
 * or a descriptor the kernel lends (a disk image, /dev/loopN, a tmpfs medium).
 */
import { fdatasyncSync, readSync, writeSync } from 'node:fs';
import type { ResourceGrant } from '../../classes/block/contract.js';
import { copyBytes } from '../../driver/bytes.js';

export interface Medium {
  readonly sizeBytes: number;
  read(offset: number, into: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
  zero(offset: number, length: number): void;
  sync(): void | Promise<void>;
}

/** `syncByKernel` asks the kernel to sync when the domain may not (a sandboxed process). */
export function mediumFor(grant: ResourceGrant, syncByKernel: () => Promise<void>): Medium {
  return grant.memory ? memoryMedium(new Uint8Array(grant.memory)) : fdMedium(grant.fd, grant.sizeBytes, syncByKernel);
}

function memoryMedium(bytes: Uint8Array): Medium {
  return {
    sizeBytes: bytes.length,
    read: (offset, into) => copyBytes(into, 0, bytes.subarray(offset, offset + into.length)),
    write: (offset, data) => copyBytes(bytes, offset, data),
    zero: (offset, length) => bytes.fill(0, offset, offset + length),
    sync: () => undefined,
  };
}

const ZEROS = new Uint8Array(1 << 20);

function fdMedium(fd: number, sizeBytes: number, syncByKernel: () => Promise<void>): Medium {
  let direct = true;
  return {
    sizeBytes,
    read(offset, into) {
      let done = 0;
      while (done < into.length) {
        const n = readSync(fd, into, done, into.length - done, offset + done);
        if (n === 0) { into.fill(0, done); return; } // past the end of a sparse image
        done += n;
      }
    },
    write(offset, data) {
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
    },
    zero(offset, length) {
      for (let at = 0; at < length; at += ZEROS.length) {
        this.write(offset + at, ZEROS.subarray(0, Math.min(ZEROS.length, length - at)));
      }
    },
    sync() {
      if (!direct) return syncByKernel();
      try {
        fdatasyncSync(fd);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_ACCESS_DENIED') throw err;
        direct = false;
        return syncByKernel();
      }
    },
  };
}
