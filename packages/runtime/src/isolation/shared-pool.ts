/**
 * Reusable shared memory for bulk data crossing into thread domains. Allocating a
 * SharedArrayBuffer costs far more than copying into one (~85 us for 64 KiB against ~3 us
 * for the copy), so slots are kept per power-of-two size class and handed out again.
 *
 * A slot lent to a call that was pending when its driver failed is never taken back: the
 * failed domain might still write into it until it is gone.
 */
const MIN_CLASS = 12; // 4 KiB
const MAX_CLASS = 24; // 16 MiB
const KEEP_PER_CLASS = 64;

export class SharedPool {
  readonly #free: SharedArrayBuffer[][] = Array.from({ length: MAX_CLASS + 1 }, () => []);

  /** A view of exactly `length` bytes over pooled shared memory. */
  take(length: number): Uint8Array {
    const cls = sizeClass(length);
    if (cls > MAX_CLASS) return new Uint8Array(new SharedArrayBuffer(length));
    const buffer = this.#free[cls]!.pop() ?? new SharedArrayBuffer(2 ** cls);
    return new Uint8Array(buffer, 0, length);
  }

  /** Returns a view's memory to the pool (only views this pool handed out are kept). */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!(buffer instanceof SharedArrayBuffer)) return;
    const cls = Math.log2(buffer.byteLength);
    if (!Number.isInteger(cls) || cls < MIN_CLASS || cls > MAX_CLASS) return;
    const list = this.#free[cls]!;
    if (list.length < KEEP_PER_CLASS) list.push(buffer);
  }
}

function sizeClass(length: number): number {
  return Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, length))));
}
