/**
 * A wa-sqlite VFS that keeps one SQLite database, and its rollback journal, directly on a
 * block device: no filesystem, no root. The device is laid out as a fixed two-entry file
 * table:
 *
 *   [ db header | db data ........................ | journal header | journal data ..... ]
 *     block 0     blocks 1..                          first journal block
 *
 * A header block holds a magic number, whether the file exists, and its size in bytes. SQLite
 * reads and writes at any byte offset; the device takes whole 4096-byte blocks, so partial
 * blocks are read, modified and written back (pages are 4096 bytes, so the database file is
 * mostly aligned; the journal's page records are not). Writes collect as whole blocks until
 * xSync, which writes them in contiguous runs together with the changed header and issues
 * the flush with them (a flush covers every write issued before it), then waits for them all:
 * SQLite's commit ordering rests on xSync and on nothing else.
 *
 * Other files SQLite may ask for (temporary tables, statement journals) are refused: the
 * application sets `PRAGMA temp_store=MEMORY`, which keeps them in memory.
 *
 * Every method is async (the Asyncify build suspends SQLite while the device works; only one
 * VFS call is ever in flight). A device error becomes an SQLite I/O error code, and the first
 * one is kept in `lastError` so the application can say what went wrong underneath.
 */
import { FacadeVFS, type PointerView } from '@journeyapps/wa-sqlite/src/FacadeVFS.js';
import * as VFS from '@journeyapps/wa-sqlite/src/VFS.js';
import type { BlockDevice } from 'shadow-drivers';

const MAGIC = 0x5344_4256; // "SDBV"
const FILE_KINDS = VFS.SQLITE_OPEN_MAIN_DB | VFS.SQLITE_OPEN_MAIN_JOURNAL;

export interface BlockVfsOptions {
  /** Bytes of the device given to the journal (default: a quarter of the device). */
  journalBytes?: number;
}

/** One file of the table: a header block and the data blocks after it. */
export interface Region {
  readonly name: 'db' | 'journal';
  /** Byte offset of the header block; data starts one block later. */
  readonly base: number;
  /** Bytes available for data. */
  readonly capacity: number;
  exists: boolean;
  size: number;
  /** The header on the device is older than `exists`/`size`. */
  dirty: boolean;
  /** Blocks written since the last sync, by device offset (the journal writes a page record
   * in three pieces that straddle blocks: one device write per run instead of one per piece). */
  pending: Map<number, Uint8Array>;
  /** The blocks of the last sync, kept to spare reading back what was just written. */
  recent: Map<number, Uint8Array>;
}

export class BlockVfs extends FacadeVFS {
  readonly disk: BlockDevice;
  readonly blockSize: number;
  readonly regions: { db: Region; journal: Region };
  /** The first device error seen (its code, e.g. SD_ERR_DRIVER_FAILED), if any. */
  lastError: { code: string; message: string; method: string } | undefined;
  /** Device errors seen, by code. */
  readonly deviceErrors: Record<string, number> = {};
  readonly #open = new Map<number, Region>();

  /** Reads the file table from the disk, formatting it first when the disk has none. */
  static async create(name: string, module: object, disk: BlockDevice, options: BlockVfsOptions = {}): Promise<BlockVfs> {
    const { sizeBytes, blockSize } = await disk.geometry();
    const journalBlocks = Math.floor((options.journalBytes ?? sizeBytes / 4) / blockSize);
    const dbBlocks = Math.floor(sizeBytes / blockSize) - journalBlocks;
    if (journalBlocks < 2 || dbBlocks < 2) throw new Error(`block VFS: a ${sizeBytes}-byte disk is too small`);
    const region = (name: Region['name'], firstBlock: number, blocks: number): Region => ({
      name, base: firstBlock * blockSize, capacity: (blocks - 1) * blockSize, exists: false, size: 0, dirty: false,
      pending: new Map(), recent: new Map(),
    });
    const vfs = new BlockVfs(name, module, disk, blockSize, {
      db: region('db', 0, dbBlocks), journal: region('journal', dbBlocks, journalBlocks),
    });
    for (const r of [vfs.regions.db, vfs.regions.journal]) await vfs.#loadHeader(r);
    await disk.flush();
    return vfs;
  }

  private constructor(name: string, module: object, disk: BlockDevice, blockSize: number,
    regions: { db: Region; journal: Region }) {
    super(name, module);
    this.disk = disk;
    this.blockSize = blockSize;
    this.regions = regions;
  }

  async jOpen(filename: string | null, fileId: number, flags: number, outFlags: PointerView): Promise<number> {
    const region = this.#regionFor(flags);
    if (!region || filename === null) return VFS.SQLITE_CANTOPEN;
    if (!region.exists) {
      if (!(flags & VFS.SQLITE_OPEN_CREATE)) return VFS.SQLITE_CANTOPEN;
      region.exists = true;
      region.size = 0;
      const code = await this.#guard('open', VFS.SQLITE_CANTOPEN, () => this.#writeHeader(region));
      if (code !== VFS.SQLITE_OK) return code;
    }
    this.#open.set(fileId, region);
    outFlags.setInt32(0, flags, true);
    return VFS.SQLITE_OK;
  }

  async jClose(fileId: number): Promise<number> {
    const region = this.#open.get(fileId);
    this.#open.delete(fileId);
    if (!region || (!region.dirty && region.pending.size === 0)) return VFS.SQLITE_OK;
    return this.#guard('close', VFS.SQLITE_IOERR_CLOSE, () => this.#writeOut(region));
  }

  async jRead(fileId: number, into: Uint8Array, offset: number): Promise<number> {
    const region = this.#open.get(fileId)!;
    const length = Math.max(0, Math.min(into.byteLength, region.size - offset));
    if (length > 0) {
      const code = await this.#guard('read', VFS.SQLITE_IOERR_READ, async () => {
        await this.#writeOut(region);
        into.set(await this.#readBytes(region, offset, length));
      });
      if (code !== VFS.SQLITE_OK) return code;
    }
    if (length < into.byteLength) {
      into.fill(0, length);
      return VFS.SQLITE_IOERR_SHORT_READ;
    }
    return VFS.SQLITE_OK;
  }

  async jWrite(fileId: number, from: Uint8Array, offset: number): Promise<number> {
    // The argument views WebAssembly memory, which may move or be reused once we wait.
    const data = from.slice();
    const region = this.#open.get(fileId)!;
    if (offset + data.byteLength > region.capacity) return VFS.SQLITE_FULL;
    return this.#guard('write', VFS.SQLITE_IOERR_WRITE, async () => {
      await this.#writeBytes(region, offset, data);
      if (offset + data.byteLength > region.size) {
        region.size = offset + data.byteLength;
        region.dirty = true;
      }
    });
  }

  async jTruncate(fileId: number, size: number): Promise<number> {
    const region = this.#open.get(fileId)!;
    if (size >= region.size) return VFS.SQLITE_OK;
    region.size = size;
    region.dirty = true;
    return this.#guard('truncate', VFS.SQLITE_IOERR_TRUNCATE, () => this.#writeOut(region));
  }

  async jSync(fileId: number): Promise<number> {
    const region = this.#open.get(fileId)!;
    // The flush goes with the writes: it covers every write issued before it (a barrier), so a
    // sync is one crossing to the driver, not two.
    return this.#guard('sync', VFS.SQLITE_IOERR_FSYNC, () => this.#writeOut(region, () => this.disk.flush()));
  }

  jFileSize(fileId: number, size: PointerView): number {
    size.setBigInt64(0, BigInt(this.#open.get(fileId)!.size), true);
    return VFS.SQLITE_OK;
  }

  async jDelete(filename: string): Promise<number> {
    const region = this.#regionNamed(filename);
    if (!region?.exists) return VFS.SQLITE_OK;
    region.exists = false;
    region.size = 0;
    region.pending = new Map();
    return this.#guard('delete', VFS.SQLITE_IOERR_DELETE, async () => {
      await this.#writeHeader(region);
      await this.disk.flush();
    });
  }

  jAccess(filename: string, _flags: number, result: PointerView): number {
    result.setInt32(0, this.#regionNamed(filename)?.exists ? 1 : 0, true);
    return VFS.SQLITE_OK;
  }

  jSectorSize(): number {
    return this.blockSize;
  }

  /** SQLite needs no more than block atomicity from the device: say nothing stronger. */
  jDeviceCharacteristics(): number {
    return 0;
  }

  /** The bytes of the database file as they are on the device (for checks outside SQLite). */
  async readDatabase(): Promise<Uint8Array> {
    await this.#loadHeader(this.regions.db);
    return this.#readBytes(this.regions.db, 0, this.regions.db.size);
  }

  #regionFor(flags: number): Region | undefined {
    if ((flags & FILE_KINDS) === VFS.SQLITE_OPEN_MAIN_DB) return this.regions.db;
    if ((flags & FILE_KINDS) === VFS.SQLITE_OPEN_MAIN_JOURNAL) return this.regions.journal;
    return undefined;
  }

  /** SQLite names the journal after the database: "<db>-journal". */
  #regionNamed(filename: string): Region | undefined {
    if (filename.endsWith('-journal')) return this.regions.journal;
    if (filename.endsWith('-wal') || filename.endsWith('-shm')) return undefined;
    return this.regions.db;
  }

  /** Runs a device step; a device error becomes `code` (a failed call must not throw into SQLite). */
  async #guard(method: string, code: number, step: () => Promise<void>): Promise<number> {
    try {
      await step();
      return VFS.SQLITE_OK;
    } catch (error) {
      // What the device holds after a failed call is unknown to us: forget what we cached.
      // Writes that were waiting are lost with it: SQLite is told, and rolls back.
      for (const region of [this.regions.db, this.regions.journal]) {
        region.pending = new Map();
        region.recent = new Map();
      }
      const e = error as { code?: string; message?: string };
      this.lastError ??= { code: e.code ?? 'unknown', message: e.message ?? String(error), method };
      this.deviceErrors[e.code ?? 'unknown'] = (this.deviceErrors[e.code ?? 'unknown'] ?? 0) + 1;
      return code;
    }
  }

  async #loadHeader(region: Region): Promise<void> {
    const header = new DataView((await this.disk.read(region.base, this.blockSize)).slice().buffer);
    if (header.getUint32(0, true) !== MAGIC) {
      Object.assign(region, { exists: false, size: 0 });
      await this.#writeHeader(region);
      return;
    }
    region.exists = header.getUint32(4, true) === 1;
    region.size = Number(header.getBigUint64(8, true));
    region.dirty = false;
  }

  async #writeHeader(region: Region): Promise<void> {
    const block = new Uint8Array(this.blockSize);
    const header = new DataView(block.buffer);
    header.setUint32(0, MAGIC, true);
    header.setUint32(4, region.exists ? 1 : 0, true);
    header.setBigUint64(8, BigInt(region.size), true);
    region.dirty = false;
    await this.disk.write(region.base, block);
  }

  /** Device bytes [start, end) of a file range, widened to whole blocks. */
  #span(region: Region, offset: number, length: number): { start: number; end: number; skip: number } {
    const at = region.base + this.blockSize + offset;
    const start = at - (at % this.blockSize);
    const end = Math.ceil((at + length) / this.blockSize) * this.blockSize;
    return { start, end, skip: at - start };
  }

  async #readBytes(region: Region, offset: number, length: number): Promise<Uint8Array> {
    const { start, end, skip } = this.#span(region, offset, length);
    const blocks = await this.disk.read(start, end - start);
    return blocks.subarray(skip, skip + length);
  }

  /**
   * Puts a write into the pending blocks. A partial first or last block is read first, unless
   * every byte of it the write leaves alone lies past the end of the file (nothing to keep).
   */
  async #writeBytes(region: Region, offset: number, data: Uint8Array): Promise<void> {
    const { start, end, skip } = this.#span(region, offset, data.byteLength);
    const fileEnd = region.base + this.blockSize + region.size;
    for (let at = start; at < end; at += this.blockSize) {
      const from = Math.max(0, at - start - skip);
      const to = Math.min(data.byteLength, at + this.blockSize - start - skip);
      const into = Math.max(0, start + skip - at);
      const whole = into === 0 && to - from === this.blockSize;
      let block = region.pending.get(at);
      if (!block) {
        const keeps = !whole && at < fileEnd;
        block = keeps ? (await this.#readBlock(region, at)).slice() : new Uint8Array(this.blockSize);
        region.pending.set(at, block);
      }
      block.set(data.subarray(from, to), into);
    }
  }

  async #readBlock(region: Region, at: number): Promise<Uint8Array> {
    return region.recent.get(at) ?? this.disk.read(at, this.blockSize);
  }

  /**
   * Writes the pending blocks, in runs of contiguous blocks, and the header if it changed, all
   * at once: they touch distinct blocks, so their order does not matter, and a commit waits
   * for one crossing to the driver instead of one per run; `then` (a sync's flush) is issued
   * right after them, in the same crossing, and covers them. Each is waited for before this
   * returns, and after a failure the others are still waited for, so no write of ours is in
   * flight behind SQLite's back when it rolls back.
   */
  async #writeOut(region: Region, then?: () => Promise<void>): Promise<void> {
    const offsets = [...region.pending.keys()].sort((a, b) => a - b);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < offsets.length;) {
      let j = i + 1;
      while (j < offsets.length && offsets[j] === offsets[j - 1]! + this.blockSize) j++;
      const run = new Uint8Array((j - i) * this.blockSize);
      for (let k = i; k < j; k++) run.set(region.pending.get(offsets[k]!)!, (k - i) * this.blockSize);
      writes.push(this.disk.write(offsets[i]!, run));
      i = j;
    }
    region.recent = region.pending;
    region.pending = new Map();
    if (region.dirty) writes.push(this.#writeHeader(region));
    if (then) writes.push(then());
    const failed = (await Promise.allSettled(writes)).find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
