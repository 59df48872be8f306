/**
 * A real kernel filesystem over a shadowed disk, with no nbd.ko: the disk is exported by our
 * NBD server on a unix socket, nbdfuse turns the export into a FUSE file, losetup makes that
 * file a block device, mkfs.ext4 formats it and mount mounts it. Tear-down undoes each step
 * in reverse order of acquisition and carries on past a failed step, so a failing test
 * leaves no mount, loop device, FUSE mount or process behind.
 *
 * While the stack is up, the kernel waits on this process (our NBD server) to finish I/O:
 * everything here is asynchronous, because a synchronous call that touches the mount would
 * block the event loop that has to answer the kernel, and never return.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockDevice } from 'shadow-drivers';
import { startNbdServer, type NbdServer } from 'shadow-drivers';

export interface Run { command: string; ms: number; stdout: string }

/** Runs a command; rejects (with its stderr) on a non-zero exit or after its deadline. */
export function run(command: string, args: string[], options: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = `${command} ${args.join(' ')}`;
        if (error) reject(new Error(`${line} failed (${error.message}): ${stderr}`));
        else resolve({ command: line, ms: Date.now() - started, stdout });
      });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** Whether the kernel lists `path` as a mount point (any file system type). */
export async function mounted(path: string): Promise<boolean> {
  const table = await readFile('/proc/mounts', 'utf8');
  return table.split('\n').some((line) => line.split(' ')[1] === path);
}

export interface StorageStack {
  /** The ext4 file system's mount point. */
  readonly mountpoint: string;
  readonly loop: string;
  /** The FUSE file nbdfuse serves (the disk as a regular file). */
  readonly fuseFile: string;
  readonly server: NbdServer;
  /** sync, umount, losetup -d, fusermount3 -u, wait for nbdfuse, close the server. */
  teardown(): Promise<string[]>;
}

/**
 * Builds the stack in `dir` over `disk` (already open). On failure, whatever was set up is
 * torn down before the error is rethrown.
 */
export async function mountStack(disk: BlockDevice, dir: string, sizeBytes: number): Promise<StorageStack> {
  const socket = join(dir, 'nbd.sock');
  const fuseDir = join(dir, 'fuse');
  const fuseFile = join(fuseDir, 'disk');
  const mountpoint = join(dir, 'mnt');
  await mkdir(fuseDir);
  await mkdir(mountpoint);
  const steps: { name: string; undo: () => Promise<unknown> }[] = [];
  const teardown = async (): Promise<string[]> => {
    const problems: string[] = [];
    for (const step of steps.reverse()) {
      try {
        await step.undo();
      } catch (error) {
        problems.push(`${step.name}: ${(error as Error).message}`);
      }
    }
    steps.length = 0;
    return problems;
  };
  try {
    const { server } = await startNbdServer({ exports: { '': disk }, listen: [{ path: socket }] });
    steps.push({ name: 'close the NBD server', undo: () => server.close() });

    const fuse: ChildProcess = spawn('nbdfuse', [fuseFile, `nbd+unix:///?socket=${socket}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let fuseErr = '';
    fuse.stderr!.on('data', (d: Buffer) => { fuseErr += d.toString(); });
    const fuseExited = new Promise<number | null>((resolve) => fuse.once('exit', (code) => resolve(code)));
    steps.push({
      name: 'unmount the FUSE file', undo: async () => {
        if (fuse.exitCode === null && fuse.signalCode === null) {
          if (await mounted(fuseDir)) {
            await run('fusermount3', ['-u', fuseDir]).catch(() => run('umount', ['-l', fuseDir]));
          } else {
            fuse.kill('SIGTERM');
          }
        }
        const code = await fuseExited;
        if (code !== 0 && code !== null) throw new Error(`nbdfuse exited ${code}: ${fuseErr}`);
      },
    });
    await waitForSize(fuseFile, sizeBytes, () => (fuse.exitCode !== null ? `nbdfuse exited ${fuse.exitCode}: ${fuseErr}` : undefined));

    const loop = (await run('losetup', ['-f', '--show', '--direct-io=off', fuseFile])).stdout.trim();
    steps.push({ name: `losetup -d ${loop}`, undo: () => run('losetup', ['-d', loop]) });

    await run('mkfs.ext4', ['-q', '-F', loop]);
    await run('mount', [loop, mountpoint]);
    steps.push({
      name: `umount ${mountpoint}`, undo: async () => {
        await run('sync', ['-f', mountpoint]).catch(() => undefined);
        await run('umount', [mountpoint]).catch(async (error: Error) => {
          await run('umount', ['-l', mountpoint]);
          throw error;
        });
      },
    });
    return { mountpoint, loop, fuseFile, server, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** Polls (one stat at a time) until `path` exists with `sizeBytes` bytes. */
async function waitForSize(path: string, sizeBytes: number, failed: () => string | undefined, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size === sizeBytes) return;
    const why = failed();
    if (why) throw new Error(why);
    if (Date.now() > end) throw new Error(`timed out waiting for ${path} to hold ${sizeBytes} bytes (it has ${size})`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Copies the disk's bytes, read through the BlockDevice, into a regular file. */
export async function saveImage(disk: BlockDevice, sizeBytes: number, path: string): Promise<void> {
  const chunk = 4 * 1024 * 1024;
  const file = await open(path, 'w');
  try {
    const buffer = new Uint8Array(chunk);
    for (let at = 0; at < sizeBytes; at += chunk) {
      const length = Math.min(chunk, sizeBytes - at);
      await disk.read(at, length, buffer.subarray(0, length));
      await file.write(buffer, 0, length, at);
    }
  } finally {
    await file.close();
  }
}
