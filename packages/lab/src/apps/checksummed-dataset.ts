/**
 * An application that must not notice driver failures: it writes a checksummed data set on
 * any block device, keeps several requests in flight (reads, writes, flushes), verifies every
 * block it reads against its own model of what the block must hold, and at the end re-reads
 * the whole data set. It knows nothing of drivers, shadows or faults; it only counts what it
 * sees: calls that were rejected (application-visible errors) and blocks that differ.
 */
import type { BlockDevice } from 'shadow-drivers';
import { checkBlock, formatBlock, type Expected } from './checksummed-block.js';

export interface DatasetOptions {
  /** Blocks in the data set (default: the whole device). */
  blocks?: number;
  /** Requests kept in flight at once. */
  queueDepth?: number;
  /** Largest request, in blocks. */
  maxExtentBlocks?: number;
  /** Share of requests that are reads and flushes once the data set is written (the rest write). */
  readShare?: number;
  flushShare?: number;
  /** Chooses requests; a seeded source makes the workload repeatable. */
  random?: () => number;
  /** Identity of the data set, written into every block. */
  tag?: number;
}

export interface DatasetStats {
  reads: number;
  writes: number;
  flushes: number;
  blocksWritten: number;
  blocksVerified: number;
  bytesVerified: number;
  /** Blocks whose content was not what the application last wrote. */
  mismatches: number;
  /** Calls the device rejected. With shadow drivers this must stay 0 whatever the driver does. */
  errors: number;
  /** The first few errors and mismatches, as readable lines. */
  problems: string[];
}

const MAX_PROBLEMS = 20;
const VERIFY_CHUNK_BYTES = 1 << 20;

interface Extent { first: number; count: number }

export class ChecksummedDataset {
  readonly device: BlockDevice;
  readonly stats: DatasetStats = {
    reads: 0, writes: 0, flushes: 0, blocksWritten: 0, blocksVerified: 0, bytesVerified: 0,
    mismatches: 0, errors: 0, problems: [],
  };
  readonly #options: Required<Omit<DatasetOptions, 'blocks'>> & { blocks?: number };
  #blockSize = 0;
  #blocks = 0;
  /** The model: the generation each block must hold, and a second one it may hold. */
  #generation = new Uint32Array(0);
  #alternative = new Int32Array(0);
  /** Blocks with a request in flight. Overlapping requests have no defined order on a block
   * device (and resubmission after a driver failure may reorder them), so none are issued. */
  #busy = new Uint8Array(0);
  #filled = 0;
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(device: BlockDevice, options: DatasetOptions = {}) {
    this.device = device;
    this.#options = {
      queueDepth: 8, maxExtentBlocks: 8, readShare: 0.45, flushShare: 0.03,
      random: Math.random, tag: (Math.random() * 2 ** 32) >>> 0, ...options,
    };
  }

  get blockSize(): number {
    return this.#blockSize;
  }

  get blocks(): number {
    return this.#blocks;
  }

  /** Opens the device and sizes the data set from its geometry. */
  async open(): Promise<void> {
    await this.#call('open', () => this.device.open());
    const info = await this.device.geometry();
    this.#blockSize = info.blockSize;
    const fits = Math.floor(info.sizeBytes / info.blockSize);
    this.#blocks = Math.min(this.#options.blocks ?? fits, fits);
    this.#generation = new Uint32Array(this.#blocks);
    this.#alternative = new Int32Array(this.#blocks).fill(-1);
    this.#busy = new Uint8Array(this.#blocks);
  }

  /** Starts `queueDepth` request streams: first the data set is written, then a mix. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loops = Array.from({ length: this.#options.queueDepth }, () => this.#stream());
  }

  /** Stops issuing requests; resolves when every request in flight has completed. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  /** Re-reads the whole data set and checks every block against the model. */
  async verifyAll(): Promise<void> {
    const perChunk = Math.max(1, Math.floor(VERIFY_CHUNK_BYTES / this.#blockSize));
    for (let first = 0; first < this.#blocks; first += perChunk) {
      await this.#read({ first, count: Math.min(perChunk, this.#blocks - first) });
    }
  }

  async close(): Promise<void> {
    await this.#call('close', () => this.device.close());
  }

  async #stream(): Promise<void> {
    let sinceYield = 0;
    while (this.#running) {
      // A driver that answers in microtasks (in-process) would otherwise starve timers and I/O.
      if (++sinceYield % 64 === 0) await new Promise((r) => setImmediate(r));
      const { random, readShare, flushShare } = this.#options;
      if (this.#filled < this.#blocks) { await this.#fillNext(); continue; }
      const dice = random();
      if (dice < flushShare) { await this.#flush(); continue; }
      const extent = this.#claim();
      if (!extent) { await new Promise((r) => setImmediate(r)); continue; }
      try {
        if (dice < flushShare + readShare) await this.#read(extent);
        else await this.#write(extent);
      } finally {
        this.#busy.fill(0, extent.first, extent.first + extent.count);
      }
    }
  }

  /** The first pass writes the data set in order, so every block is checked with content. */
  async #fillNext(): Promise<void> {
    const first = this.#filled;
    const count = Math.min(this.#options.maxExtentBlocks, this.#blocks - first);
    this.#filled += count;
    this.#busy.fill(1, first, first + count);
    try { await this.#write({ first, count }); } finally { this.#busy.fill(0, first, first + count); }
  }

  /** A random extent with no request in flight on any of its blocks, marked busy. */
  #claim(): Extent | undefined {
    const { random, maxExtentBlocks } = this.#options;
    for (let attempt = 0; attempt < 4; attempt++) {
      const count = 1 + Math.floor(random() * Math.min(maxExtentBlocks, this.#blocks));
      const first = Math.floor(random() * (this.#blocks - count + 1));
      if (this.#busy.subarray(first, first + count).some((b) => b !== 0)) continue;
      this.#busy.fill(1, first, first + count);
      return { first, count };
    }
    return undefined;
  }

  async #write({ first, count }: Extent): Promise<void> {
    const size = this.#blockSize;
    const data = new Uint8Array(count * size);
    const next = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      next[i] = this.#generation[first + i]! + 1;
      formatBlock(data.subarray(i * size, (i + 1) * size), this.#options.tag, first + i, next[i]!);
    }
    const ok = await this.#call(`write of blocks ${first}+${count}`, () => this.device.write(first * size, data));
    this.stats.writes++;
    for (let i = 0; i < count; i++) {
      // A rejected write may or may not have reached the medium: both versions stay acceptable.
      this.#alternative[first + i] = ok ? -1 : this.#generation[first + i]!;
      this.#generation[first + i] = next[i]!;
    }
    if (ok) this.stats.blocksWritten += count;
  }

  async #read({ first, count }: Extent): Promise<void> {
    const size = this.#blockSize;
    let data: Uint8Array | undefined;
    await this.#call(`read of blocks ${first}+${count}`, async () => { data = await this.device.read(first * size, count * size); });
    this.stats.reads++;
    if (!data) return;
    for (let i = 0; i < count; i++) this.#verify(first + i, data.subarray(i * size, (i + 1) * size));
  }

  #verify(index: number, block: Uint8Array): void {
    const alternative = this.#alternative[index]!;
    const expected: Expected = { generation: this.#generation[index]!, ...(alternative >= 0 ? { alternative } : {}) };
    const problem = checkBlock(block, this.#options.tag, index, expected);
    if (problem) {
      this.stats.mismatches++;
      this.#note(problem);
      return;
    }
    // What was read is now known to be on the medium: the model is exact again.
    if (alternative >= 0) { this.#alternative[index] = -1; this.#generation[index] = new DataView(block.buffer, block.byteOffset).getUint32(12); }
    this.stats.blocksVerified++;
    this.stats.bytesVerified += block.length;
  }

  async #flush(): Promise<void> {
    await this.#call('flush', () => this.device.flush());
    this.stats.flushes++;
  }

  /** Runs one device call; a rejection is an application-visible error, counted, not thrown. */
  async #call(what: string, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (err) {
      this.stats.errors++;
      const code = (err as { code?: string }).code;
      this.#note(`${what} failed: ${code ? `${code} ` : ''}${(err as Error).message}`);
      // A device that fails every call at once (given up, closed) settles in microtasks only:
      // without a turn of the event loop the streams would starve every timer in the process.
      await new Promise((resolve) => setImmediate(resolve));
      return false;
    }
  }

  #note(problem: string): void {
    if (this.stats.problems.length < MAX_PROBLEMS) this.stats.problems.push(problem);
  }
}
