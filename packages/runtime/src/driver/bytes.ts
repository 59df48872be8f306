/**
 * Copying bytes where one side is shared memory (a SharedArrayBuffer: a `ram` disk's device
 * memory, the slots the kernel lends a worker). V8 copies into or out of shared memory with its
 * own loop: word by word when the two sides are aligned alike (as fast as memcpy), but byte by
 * byte when they are not, as an NBD write's payload is behind its 28-byte header: 18 µs for
 * 64 KiB against 1.8 through libc (docs/benchmarks.md). `copyBytes` checks the bounds, then
 * copies such a run with libc's memmove through koffi; aligned alike, between plain arrays,
 * below 512 bytes, or where koffi cannot load (a sandboxed process without addons, which has
 * no shared memory anyway), it is TypedArray.set.
 */
import { createRequire } from 'node:module';

type Memmove = (target: Uint8Array, source: Uint8Array, length: number) => unknown;

/** Under this, a call into libc costs more than V8's byte loop. */
const MIN_BYTES = 512;

let memmove: Memmove | null | undefined;

function loadMemmove(): Memmove | null {
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    memmove = koffi.load('libc.so.6').func('void *memmove(void *target, const void *source, size_t length)') as Memmove;
  } catch {
    memmove = null;
  }
  return memmove;
}

/**
 * Copies all of `source` into `target` at `offset`, as `target.set(source, offset)` does, and
 * throws as it does (a RangeError) when it does not fit. The two may overlap.
 */
export function copyBytes(target: Uint8Array, offset: number, source: Uint8Array): void {
  const length = source.length;
  if (length >= MIN_BYTES && ((target.byteOffset + offset - source.byteOffset) & 7) !== 0 &&
    (target.buffer instanceof SharedArrayBuffer || source.buffer instanceof SharedArrayBuffer)) {
    const copy = memmove === undefined ? loadMemmove() : memmove;
    if (copy && Number.isSafeInteger(offset) && offset >= 0 && offset <= target.length - length) {
      copy(target.subarray(offset, offset + length), source, length);
      return;
    }
  }
  target.set(source, offset);
}
