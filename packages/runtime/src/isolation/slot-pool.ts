/**
 * Slots of a region carved by size class (4 KiB to 16 MiB) within [base, base + size), each
 * aligned to its size so no slot straddles another's pages, and handed out again once given
 * back. The kernel's part of a bulk region (bulk-region.ts) is one; the driver's own part, where
 * its domain host puts the bytes of its upcalls, is another, kept inside the driver's process.
 */
/** Bulk arguments and results smaller than this cross the wire: the slot's bookkeeping costs more than it saves. */
export const REGION_THRESHOLD = 8 * 1024;
const MIN_CLASS = 12; // 4 KiB
const MAX_CLASS = 24; // 16 MiB

export interface Slot {
  offset: number;
  length: number;
  cls: number;
}

export class SlotPool {
  readonly #base: number;
  readonly #end: number;
  #bump: number;
  readonly #free: number[][] = Array.from({ length: MAX_CLASS + 1 }, () => []);

  constructor(base: number, size: number) {
    this.#base = base;
    this.#end = base + size;
    this.#bump = base;
  }

  /** A slot of at least `length` bytes, or undefined when there is no room. */
  take(length: number): Slot | undefined {
    const cls = Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, length))));
    if (cls > MAX_CLASS) return undefined;
    const reused = this.#free[cls]!.pop();
    if (reused !== undefined) return { offset: reused, length, cls };
    const size = 2 ** cls;
    const offset = this.#base + Math.ceil((this.#bump - this.#base) / size) * size;
    if (offset + size > this.#end) return undefined;
    this.#bump = offset + size;
    return { offset, length, cls };
  }

  give(slot: Slot): void {
    this.#free[slot.cls]!.push(slot.offset);
  }
}
