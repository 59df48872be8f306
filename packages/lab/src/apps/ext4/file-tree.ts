/**
 * The files the ext4 workload writes, as a pure function of a seed: each round is a small
 * tree (`/r<round>/d<i>/f<j>.bin`, every other directory with a subdirectory `s` of its
 * own), with sizes from empty to a few MiB (a few exact edge sizes in every round) and
 * contents that any chunk of can be regenerated on its own, so reading back needs no copy.
 */
import { Ext4Error, Ext4ErrorCodes } from './errors.js';

/** libext2fs takes writes of at most 1 MiB; reads and content chunks use the same unit. */
export const CHUNK_BYTES = 1 << 20;

export interface TreeOptions {
  /** Directories per round (default 4). */
  directories?: number;
  /** Files per directory (default 6). */
  filesPerDirectory?: number;
  /** Largest file (default 2 MiB + 3 bytes). */
  maxFileBytes?: number;
}

export interface PlannedFile {
  path: string;
  size: number;
  /** Seeds the file's contents (unique across rounds). */
  id: number;
}

export interface RoundPlan {
  round: number;
  /** Directories in creation order (parents first). */
  directories: string[];
  files: PlannedFile[];
  bytes: number;
}

const EDGE_SIZES = [0, 1, 4095, 4096, CHUNK_BYTES, CHUNK_BYTES + 1];

export function checkTreeOptions(options: TreeOptions): Required<TreeOptions> {
  const o = { directories: 4, filesPerDirectory: 6, maxFileBytes: 2 * CHUNK_BYTES + 3, ...options };
  for (const [name, value, min] of [['directories', o.directories, 1], ['filesPerDirectory', o.filesPerDirectory, 1],
    ['maxFileBytes', o.maxFileBytes, CHUNK_BYTES + 1]] as const) {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer ≥ ${min}, not ${String(value)}`);
    }
  }
  return o;
}

export function planRound(seed: number, round: number, options: Required<TreeOptions>): RoundPlan {
  const random = xorshift(mix(seed, round, 0x5eed));
  const root = `/r${round}`;
  const directories = [root];
  const files: PlannedFile[] = [];
  for (let d = 0; d < options.directories; d++) {
    const dir = `${root}/d${d}`;
    directories.push(dir);
    const places = d % 2 === 1 ? [dir, `${dir}/s`] : [dir];
    if (places.length > 1) directories.push(places[1]!);
    for (let f = 0; f < options.filesPerDirectory; f++) {
      const n = files.length;
      const size = n < EDGE_SIZES.length ? EDGE_SIZES[n]! : drawSize(random, options.maxFileBytes);
      files.push({ path: `${places[f % places.length]}/f${f}.bin`, size, id: round * 100_003 + n });
    }
  }
  return { round, directories, files, bytes: files.reduce((sum, f) => sum + f.size, 0) };
}

/** Mostly small and medium files, some large ones, odd lengths throughout. */
function drawSize(random: () => number, max: number): number {
  const r = random() / 2 ** 32;
  const scale = r < 0.25 ? 8192 : r < 0.7 ? 256 * 1024 : max;
  return Math.min(max, Math.floor((random() / 2 ** 32) * scale) + 1);
}

/** Bytes [chunk × CHUNK_BYTES, + length) of file `id`'s contents. */
export function contentChunk(seed: number, id: number, chunk: number, length: number): Buffer {
  const words = new Uint32Array(Math.ceil(length / 4));
  const next = xorshift(mix(seed, id, chunk));
  for (let i = 0; i < words.length; i++) words[i] = next();
  return Buffer.from(words.buffer, 0, length);
}

/** A 32-bit hash of three integers (never 0, which xorshift cannot leave). */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) || 1;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}
