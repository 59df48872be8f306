/**
 * Formatting a block device as ext4. libext2fs in WebAssembly (the ext2fs package) mounts and
 * edits an existing filesystem but exports no mkfs, so the real mke2fs makes one: on a
 * temporary sparse image of the device's exact size, which is then copied onto the device
 * through the BlockDevice (through the shadowed driver, faults and all) and flushed. The image
 * is removed whatever happens.
 */
import { open, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from 'shadow-drivers';
import { Ext4Error, Ext4ErrorCodes } from './errors.js';
import { findTool, runTool } from './tools.js';

/** The filesystem's block size: libext2fs does its I/O in these. */
export const FS_BLOCK_SIZE = 4096;
const MIN_BYTES = 8 << 20;
const COPY_CHUNK = 1 << 20;

export interface FormatOptions {
  /** Volume label (at most 16 bytes). */
  label?: string;
  /** Filesystem UUID (makes the image repeatable); mke2fs picks one at random by default. */
  uuid?: string;
}

export interface FormatResult {
  tool: string;
  sizeBytes: number;
  /** Bytes written onto the device (the whole image). */
  bytesCopied: number;
  elapsedMs: number;
}

export async function formatExt4(disk: BlockDevice, options: FormatOptions = {}): Promise<FormatResult> {
  const started = performance.now();
  const { sizeBytes, blockSize, readOnly } = await disk.geometry();
  if (readOnly) throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `${disk.name} is read-only`);
  if (sizeBytes < MIN_BYTES) throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `${disk.name}: ${sizeBytes} bytes is too small for ext4 here (at least ${MIN_BYTES})`);
  if (FS_BLOCK_SIZE % blockSize !== 0) throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `${disk.name}: block size ${blockSize} does not divide ${FS_BLOCK_SIZE}`);
  if (options.label !== undefined && Buffer.byteLength(options.label) > 16) throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, 'an ext4 label has at most 16 bytes');
  if (options.uuid !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(options.uuid)) {
    throw new Ext4Error(Ext4ErrorCodes.INVALID_ARGUMENT, `not a UUID: ${JSON.stringify(options.uuid)}`);
  }
  const tool = findTool('mke2fs');
  if (!tool) throw new Ext4Error(Ext4ErrorCodes.TOOL_MISSING, 'mke2fs (e2fsprogs) is not installed: it is needed to create the filesystem');

  const dir = await mkdtemp(join(tmpdir(), 'shadow-mkfs-'));
  try {
    const image = join(dir, 'ext4.img');
    await writeFile(image, '');
    await truncate(image, sizeBytes);
    const args = ['-q', '-F', '-t', 'ext4', '-b', String(FS_BLOCK_SIZE), '-m', '0'];
    if (options.label !== undefined) args.push('-L', options.label);
    if (options.uuid !== undefined) args.push('-U', options.uuid, '-E', `hash_seed=${options.uuid}`);
    const made = await runTool(tool, [...args, image]);
    if (made.exitCode !== 0) throw new Ext4Error(Ext4ErrorCodes.MKFS_FAILED, `mke2fs exited with ${made.exitCode}: ${made.output}`);
    const bytesCopied = await copyOnto(image, disk, sizeBytes);
    return { tool, sizeBytes, bytesCopied, elapsedMs: performance.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Copies the image onto the device, 1 MiB per write, then flushes. */
async function copyOnto(image: string, disk: BlockDevice, sizeBytes: number): Promise<number> {
  const file = await open(image, 'r');
  try {
    for (let at = 0; at < sizeBytes; at += COPY_CHUNK) {
      const chunk = new Uint8Array(Math.min(COPY_CHUNK, sizeBytes - at));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, at);
      if (bytesRead !== chunk.length) throw new Error(`short read of the mke2fs image at ${at}`);
      await disk.write(at, chunk);
    }
  } finally {
    await file.close();
  }
  await disk.flush();
  return sizeBytes;
}
