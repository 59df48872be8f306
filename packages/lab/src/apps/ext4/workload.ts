/**
 * The userspace ext4 application: it writes rounds of files (see file-tree.ts) onto an ext4
 * filesystem on a block device, in 1 MiB writes, deleting the oldest rounds when the next
 * would fill more than half the disk; then it mounts the filesystem afresh and reads every
 * file still there, checking each directory's listing, each file's size and every byte. It
 * knows nothing of drivers or faults: it counts what failed and what differed.
 */
import type { BlockDevice } from 'shadow-drivers';
import { Ext4Error, Ext4ErrorCodes } from './errors.js';
import { CHUNK_BYTES, checkTreeOptions, contentChunk, planRound, type RoundPlan, type TreeOptions } from './file-tree.js';
import { Ext4Volume } from './volume.js';

export interface Ext4WorkloadOptions extends TreeOptions {
  seed: number;
}

export interface Ext4Stats {
  /** Rounds written (the last one stops early, whole files only, when told to). */
  roundsWritten: number;
  roundsDeleted: number;
  filesWritten: number;
  bytesWritten: number;
  filesVerified: number;
  bytesVerified: number;
  /** Files whose listing, size or bytes were not what was written. */
  mismatches: number;
  /** Filesystem calls that failed. With shadow drivers this must stay 0. */
  errors: number;
  /** The first few errors and mismatches, as readable lines. */
  problems: string[];
}

const MAX_PROBLEMS = 20;

export class Ext4Workload {
  readonly device: BlockDevice;
  readonly stats: Ext4Stats = {
    roundsWritten: 0, roundsDeleted: 0, filesWritten: 0, bytesWritten: 0, filesVerified: 0, bytesVerified: 0,
    mismatches: 0, errors: 0, problems: [],
  };
  readonly #seed: number;
  readonly #tree: Required<TreeOptions>;
  /** Rounds on the disk, oldest first. */
  readonly #live: RoundPlan[] = [];
  #next = 0;

  constructor(device: BlockDevice, options: Ext4WorkloadOptions) {
    if (!Number.isSafeInteger(options.seed)) throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `seed must be an integer, not ${String(options.seed)}`);
    this.device = device;
    this.#seed = options.seed;
    this.#tree = checkTreeOptions(options);
  }

  /** Rounds written and still on the disk. */
  get liveRounds(): readonly RoundPlan[] {
    return this.#live;
  }

  /**
   * Mounts the filesystem and writes rounds while `more()` says so (at least one file), then
   * unmounts; `more()` is asked before each file. A failed call is counted and ends the
   * writing (the round it hit is not verified).
   */
  async write(more: () => boolean): Promise<void> {
    const { sizeBytes } = await this.device.geometry();
    const volume = await Ext4Volume.mount(this.device);
    try {
      do {
        const plan = planRound(this.#seed, this.#next, this.#tree);
        if (plan.bytes > sizeBytes / 2) throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `a round of ${plan.bytes} bytes does not fit in half of ${this.device.name}`);
        while (this.#live.length > 0 && this.#liveBytes() + plan.bytes > sizeBytes / 2) await this.#delete(volume, this.#live.shift()!);
        this.#live.push(await this.#writeRound(volume, plan, more));
        this.#next++;
      } while (more());
    } catch (error) {
      this.#count(error);
    } finally {
      await volume.unmount().catch((error: unknown) => this.#count(error));
    }
  }

  /** Mounts the filesystem afresh (nothing cached from the writing) and checks every live round. */
  async verify(): Promise<void> {
    const volume = await Ext4Volume.mount(this.device);
    try {
      for (const plan of this.#live) {
        for (const dir of plan.directories) await this.#verifyListing(volume, plan, dir);
        for (const file of plan.files) await this.#verifyFile(volume, file.path, file.size, file.id);
      }
    } catch (error) {
      this.#count(error);
    } finally {
      await volume.unmount().catch((error: unknown) => this.#count(error));
    }
  }

  /** Writes a round's files, or its first ones when `more()` turns false: what was written. */
  async #writeRound(volume: Ext4Volume, plan: RoundPlan, more: () => boolean): Promise<RoundPlan> {
    for (const dir of plan.directories) await volume.mkdir(dir);
    const written: RoundPlan = { ...plan, files: [], bytes: 0 };
    for (const file of plan.files) {
      if (written.files.length > 0 && !more()) break;
      const fd = await volume.open(file.path, 'create');
      for (let at = 0, chunk = 0; at < file.size; at += CHUNK_BYTES, chunk++) {
        await volume.write(fd, file.path, contentChunk(this.#seed, file.id, chunk, Math.min(CHUNK_BYTES, file.size - at)), at);
      }
      await volume.close(fd, file.path);
      written.files.push(file);
      written.bytes += file.size;
      this.stats.filesWritten++;
      this.stats.bytesWritten += file.size;
    }
    this.stats.roundsWritten++;
    return written;
  }

  async #delete(volume: Ext4Volume, plan: RoundPlan): Promise<void> {
    for (const file of plan.files) await volume.unlink(file.path);
    for (const dir of [...plan.directories].reverse()) await volume.rmdir(dir);
    this.stats.roundsDeleted++;
  }

  async #verifyListing(volume: Ext4Volume, plan: RoundPlan, dir: string): Promise<void> {
    const expected = [
      ...plan.directories.filter((d) => d.startsWith(`${dir}/`) && !d.slice(dir.length + 1).includes('/')),
      ...plan.files.filter((f) => f.path.startsWith(`${dir}/`) && !f.path.slice(dir.length + 1).includes('/')).map((f) => f.path),
    ].map((path) => path.slice(dir.length + 1)).sort();
    const listed = (await volume.readdir(dir)).sort();
    if (listed.join('/') !== expected.join('/')) this.#mismatch(`${dir} lists [${listed.join(', ')}], expected [${expected.join(', ')}]`);
  }

  async #verifyFile(volume: Ext4Volume, path: string, size: number, id: number): Promise<void> {
    const fd = await volume.open(path, 'read');
    try {
      const actual = await volume.size(fd, path);
      if (actual !== size) return this.#mismatch(`${path} is ${actual} bytes, expected ${size}`);
      const into = Buffer.alloc(Math.min(CHUNK_BYTES, size));
      for (let at = 0, chunk = 0; at < size; at += CHUNK_BYTES, chunk++) {
        const n = Math.min(CHUNK_BYTES, size - at);
        const got = await volume.read(fd, path, into.subarray(0, n), at);
        if (got !== n) return this.#mismatch(`${path}: read ${got} bytes at ${at}, expected ${n}`);
        if (!into.subarray(0, n).equals(contentChunk(this.#seed, id, chunk, n))) return this.#mismatch(`${path}: bytes differ in [${at}, ${at + n})`);
      }
      this.stats.filesVerified++;
      this.stats.bytesVerified += size;
    } finally {
      await volume.close(fd, path);
    }
  }

  #liveBytes(): number {
    return this.#live.reduce((sum, plan) => sum + plan.bytes, 0);
  }

  #mismatch(line: string): void {
    this.stats.mismatches++;
    if (this.stats.problems.length < MAX_PROBLEMS) this.stats.problems.push(line);
  }

  #count(error: unknown): void {
    if (error instanceof Ext4Error && error.code === Ext4ErrorCodes.INVALID_ARGUMENT) throw error;
    this.stats.errors++;
    if (this.stats.problems.length < MAX_PROBLEMS) this.stats.problems.push((error as Error).message);
  }
}
