/**
 * The on-disk format of the checksummed data set: every block says which block it is, which
 * version of it, and carries a checksum of itself, so a reader can tell an intact current
 * block from a torn, stale, misplaced or corrupted one without trusting anything below it.
 *
 *   0   magic      u32  'SDS1'
 *   4   tag        u32  the data set's identity (stale data from another run never passes)
 *   8   index      u32  the block's index in the data set
 *   12  generation u32  how many times the block was written (0 = never: all zeros)
 *   16  checksum   32 bytes, sha256 of bytes 0..16 and the payload
 *   48  payload    derived from (tag, index, generation)
 */
import { createHash } from 'node:crypto';

const MAGIC = 0x53445331;
const HEADER = 16;
const CHECKSUM = 32;
export const PAYLOAD_OFFSET = HEADER + CHECKSUM;

/** What a block must hold: one generation, or either of two after a write of unknown outcome. */
export interface Expected {
  generation: number;
  /** A write that failed may or may not have reached the disk: the previous version also passes. */
  alternative?: number;
}

/** Fills `block` with version `generation` of block `index` of data set `tag`. */
export function formatBlock(block: Uint8Array, tag: number, index: number, generation: number): void {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  view.setUint32(0, MAGIC);
  view.setUint32(4, tag);
  view.setUint32(8, index);
  view.setUint32(12, generation);
  fillPayload(view, seedOf(tag, index, generation));
  block.set(checksumOf(block), HEADER);
}

/** Undefined when the block is intact and the expected version; otherwise what is wrong. */
export function checkBlock(block: Uint8Array, tag: number, index: number, expected: Expected): string | undefined {
  const accepts = (g: number) => g === expected.generation || g === expected.alternative;
  if (isZero(block)) return accepts(0) ? undefined : `block ${index}: all zeros, expected generation ${expected.generation}`;
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  if (view.getUint32(0) !== MAGIC) return `block ${index}: no data set header`;
  if (view.getUint32(4) !== tag) return `block ${index}: belongs to another data set`;
  if (view.getUint32(8) !== index) return `block ${index}: holds block ${view.getUint32(8)} (misplaced write)`;
  const found = view.getUint32(12);
  if (!accepts(found)) return `block ${index}: generation ${found}, expected ${expected.generation}`;
  const stored = block.subarray(HEADER, PAYLOAD_OFFSET);
  if (!equal(stored, checksumOf(block))) return `block ${index}: checksum mismatch (corrupted data)`;
  return undefined;
}

function checksumOf(block: Uint8Array): Uint8Array {
  return createHash('sha256').update(block.subarray(0, HEADER)).update(block.subarray(PAYLOAD_OFFSET)).digest();
}

/** xorshift32 words: cheap, deterministic content that differs per block and version. */
function fillPayload(view: DataView, seed: number): void {
  let x = seed || 0x9e3779b9;
  for (let at = PAYLOAD_OFFSET; at + 4 <= view.byteLength; at += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    view.setUint32(at, x >>> 0, true);
  }
}

function seedOf(tag: number, index: number, generation: number): number {
  let h = Math.imul(tag ^ 0x85ebca6b, 0xc2b2ae35);
  h = Math.imul(h ^ index, 0x27d4eb2f) ^ (h >>> 15);
  h = Math.imul(h ^ generation, 0x165667b1) ^ (h >>> 13);
  return h >>> 0;
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
