/**
 * Types for the parts of ext2fs 4.2.5 (libext2fs in WebAssembly) the userspace ext4 uses; the
 * package ships without them. File descriptors are numbers; `promises.open` returns a handle
 * whose `fd` the other calls take (the handle's own methods do not await what they start).
 */
declare module 'ext2fs' {
  /** What libext2fs reads and writes through: byte offsets, byte lengths, a Buffer that views
   * WebAssembly memory (valid until the returned promise settles). A rejection becomes EIO. */
  export interface Ext2fsDisk {
    read(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<unknown>;
    write(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<unknown>;
    discard(offset: number, length: number): Promise<unknown>;
    flush(): Promise<unknown>;
  }

  /** An error from libext2fs: `code` is an errno name (EIO, ENOENT, ENOSPC, …). Its message
   * carries the call's arguments, buffers included. */
  export interface ErrnoException extends Error {
    errno: number;
    code: string;
    syscall: string;
  }

  export interface Ext2fsStats {
    size: number;
    mode: number;
    isFile(): boolean;
    isDirectory(): boolean;
  }

  export interface Ext2fsPromises {
    open(path: string, flags: string | number, mode?: number): Promise<{ readonly fd: number }>;
    close(fd: number): Promise<void>;
    /** Reads into `buffer` at `offset`; `position` is the file offset. */
    read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
    /** Writes `length` bytes from the start of `buffer` (the offset argument is ignored: pass 0). */
    write(fd: number, buffer: Buffer, offset: 0, length: number, position: number): Promise<{ bytesWritten: number }>;
    fstat(fd: number): Promise<Ext2fsStats>;
    stat(path: string): Promise<Ext2fsStats>;
    mkdir(path: string, mode?: number): Promise<void>;
    readdir(path: string): Promise<string[]>;
    unlink(path: string): Promise<void>;
    rmdir(path: string): Promise<void>;
  }

  export interface Ext2fsFilesystem {
    readonly promises: Ext2fsPromises;
  }

  export function mount(disk: Ext2fsDisk, offset?: number): Promise<Ext2fsFilesystem>;
  /** Closes every open file, writes what libext2fs holds and flushes the disk. */
  export function umount(fs: Ext2fsFilesystem): Promise<void>;
}
