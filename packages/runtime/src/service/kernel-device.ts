/**
 * A block device's export as a kernel block device, where the machine has a way without
 * nbd.ko: `nbdfuse` shows the export as a file on a FUSE mount, and `losetup` makes that file
 * a /dev/loopN (which can be partitioned, formatted and mounted). close() undoes every step
 * in reverse, carrying on past a failed one: filesystems mounted from the loop device are
 * unmounted, the loop device detached, the FUSE mount unmounted and nbdfuse waited for, so a
 * stopped service leaves no loop device, mount or process behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, ShadowError } from '../errors.js';

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(command, args, { timeout: 30_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) =>
    error ? reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`)) : resolve(stdout)));
}

export interface KernelDevice {
  /** /dev/loopN */
  readonly path: string;
  close(): Promise<void>;
}

/** Waits for nbdfuse's file to appear (its connection made), or for nbdfuse to fail. */
async function mounted(file: string, child: ChildProcess, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!existsSync(file)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nbdfuse exited (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > end) throw new Error(`nbdfuse did not mount ${file} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Mount points of filesystems whose source is `device` (an operator's mkfs + mount). */
function mountsOf(device: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[0] === device).map((f) => f[1]!.replace(/\\040/g, ' '));
}

export async function startKernelDevice(name: string, url: string): Promise<KernelDevice> {
  const dir = mkdtempSync(join(tmpdir(), `shadowd-${name}-`));
  const file = join(dir, name);
  const child = spawn('nbdfuse', [file, url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<void>((r) => { if (child.exitCode !== null) r(); else child.on('exit', () => r()); });
  child.on('error', () => undefined); // ENOENT surfaces through `mounted` (exitCode set)
  let loop: string | undefined;
  const close = async () => {
    const step = (work: () => Promise<unknown>) => work().catch(() => undefined);
    if (loop) {
      for (const point of mountsOf(loop).reverse()) await step(() => run('umount', [point]));
      await step(() => run('losetup', ['-d', loop!]));
    }
    await step(() => run('fusermount3', ['-u', dir]));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await mounted(file, child);
    loop = (await run('losetup', ['-f', '--show', file])).trim();
    return { path: loop, close };
  } catch (err) {
    await close();
    throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `${name}: kernelDevice: ${(err as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
}
