/**
 * A mounted ext4 filesystem on a block device, through libext2fs: the few calls the workload
 * needs, each run one at a time (see ext2fs-loader.ts) and each failure turned into an
 * Ext4Error that names the call, the path, the errno and the device error under it. What
 * libext2fs writes is safe on the device only after `unmount`.
 */
import type { Ext2fsFilesystem } from 'ext2fs';
import type { BlockDevice } from 'shadow-drivers';
import { BlockDisk } from './block-disk.js';
import { Ext4Error, Ext4ErrorCodes } from './errors.js';
import { loadExt2fs, serially } from './ext2fs-loader.js';
import { CHUNK_BYTES } from './file-tree.js';
import { FS_BLOCK_SIZE } from './mkfs.js';

export class Ext4Volume {
  readonly disk: BlockDisk;
  #fs: Ext2fsFilesystem | undefined;

  /** Mounts the filesystem on `device` (open, formatted). */
  static async mount(device: BlockDevice): Promise<Ext4Volume> {
    const { blockSize } = await device.geometry();
    const volume = new Ext4Volume(new BlockDisk(device, Math.min(blockSize, FS_BLOCK_SIZE)));
    const ext2fs = await loadExt2fs();
    volume.#fs = await volume.#call('mount', '/', () => ext2fs.mount(volume.disk, 0));
    return volume;
  }

  private constructor(disk: BlockDisk) {
    this.disk = disk;
  }

  get mounted(): boolean {
    return this.#fs !== undefined;
  }

  mkdir(path: string): Promise<void> {
    return this.#call('mkdir', path, () => this.#p.mkdir(path, 0o755));
  }

  async readdir(path: string): Promise<string[]> {
    return (await this.#call('readdir', path, () => this.#p.readdir(path))).filter((name) => name !== '.' && name !== '..');
  }

  /** Opens a file: `create` makes it (empty) for writing, otherwise it is opened to read. */
  async open(path: string, mode: 'create' | 'read'): Promise<number> {
    return (await this.#call('open', path, () => this.#p.open(path, mode === 'create' ? 'w' : 'r', 0o644))).fd;
  }

  async size(fd: number, path: string): Promise<number> {
    return (await this.#call('fstat', path, () => this.#p.fstat(fd))).size;
  }

  /** Writes all of `data` (at most 1 MiB: libext2fs mishandles more) at `position`. */
  async write(fd: number, path: string, data: Buffer, position: number): Promise<void> {
    if (data.length > CHUNK_BYTES) throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `write of ${data.length} bytes: at most ${CHUNK_BYTES} at a time`);
    const { bytesWritten } = await this.#call('write', path, () => this.#p.write(fd, data, 0, data.length, position));
    if (bytesWritten !== data.length) throw new Ext4Error(Ext4ErrorCodes.FS_CALL, `write ${path}: ${bytesWritten} of ${data.length} bytes written`);
  }

  /** Reads up to `into.length` bytes at `position`; resolves how many were read. */
  async read(fd: number, path: string, into: Buffer, position: number): Promise<number> {
    return (await this.#call('read', path, () => this.#p.read(fd, into, 0, into.length, position))).bytesRead;
  }

  close(fd: number, path: string): Promise<void> {
    return this.#call('close', path, () => this.#p.close(fd));
  }

  unlink(path: string): Promise<void> {
    return this.#call('unlink', path, () => this.#p.unlink(path));
  }

  rmdir(path: string): Promise<void> {
    return this.#call('rmdir', path, () => this.#p.rmdir(path));
  }

  /** Closes open files, writes everything out and flushes the device. The volume is unusable after. */
  async unmount(): Promise<void> {
    const fs = this.#fs;
    if (!fs) throw new Ext4Error(Ext4ErrorCodes.STATE, 'the filesystem is not mounted');
    this.#fs = undefined;
    const ext2fs = await loadExt2fs();
    await this.#call('umount', '/', () => ext2fs.umount(fs));
  }

  get #p() {
    if (!this.#fs) throw new Ext4Error(Ext4ErrorCodes.STATE, 'the filesystem is not mounted');
    return this.#fs.promises;
  }

  /** Runs one libext2fs call in turn; its errno (and the device's error under it) becomes an Ext4Error. */
  #call<T>(call: string, path: string, step: () => Promise<T>): Promise<T> {
    return serially(async () => {
      try {
        return await step();
      } catch (error) {
        if (error instanceof Ext4Error) throw error;
        // Never the library's own message: it lists the call's arguments, buffers included.
        const errno = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'unknown';
        const under = this.disk.firstError;
        throw new Ext4Error(Ext4ErrorCodes.FS_CALL, `${call} ${path}: ${errno}${under ? ` (device: ${under.code} in ${under.call})` : ''}`,
          { errno, deviceError: under?.code });
      }
    });
  }
}
