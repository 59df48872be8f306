/**
 * Checking the filesystem with the real e2fsck, outside libext2fs: the whole device is read
 * through the BlockDevice (the shadowed driver) into a temporary image and `e2fsck -fn` (force
 * a full check, change nothing) runs on it. Only meaningful on an unmounted filesystem.
 * Skipped, and said so, when e2fsck is not installed.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from 'shadow-drivers';
import { findTool, runTool } from './tools.js';

const READ_CHUNK = 4 << 20;

export interface FsckResult {
  status: 'clean' | 'errors' | 'skipped';
  /** e2fsck's exit code (0: no errors; 4: errors left uncorrected, as -n leaves them). */
  exitCode?: number;
  output: string;
  /** Bytes read off the device into the image. */
  bytes: number;
}

export async function fsckThroughDevice(disk: BlockDevice): Promise<FsckResult> {
  const tool = findTool('e2fsck');
  if (!tool) return { status: 'skipped', output: 'e2fsck (e2fsprogs) is not installed', bytes: 0 };
  const { sizeBytes } = await disk.geometry();
  const dir = await mkdtemp(join(tmpdir(), 'shadow-fsck-'));
  try {
    const image = join(dir, 'ext4.img');
    const file = await open(image, 'w');
    try {
      const chunk = new Uint8Array(READ_CHUNK);
      for (let at = 0; at < sizeBytes; at += READ_CHUNK) {
        const n = Math.min(READ_CHUNK, sizeBytes - at);
        const data = await disk.read(at, n, chunk);
        await file.write(data, 0, n, at);
      }
    } finally {
      await file.close();
    }
    const { exitCode, output } = await runTool(tool, ['-fn', image]);
    return { status: exitCode === 0 ? 'clean' : 'errors', exitCode, output, bytes: sizeBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
