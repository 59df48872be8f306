/**
 * A kernel ext4 on a shadowed disk for one campaign trial, safe under SIGKILL of the trial:
 * the disk is exported by our NBD server on a socket in the trial's scratch directory and
 * served as a file by nbdfuse, alone in a mount namespace of its own; the ext4 is mounted
 * (`-o loop`, through /proc/<nbdfuse>/root) in a second mount namespace, with a PID namespace
 * for the tools, which run there with `nsenter`. Both namespaces' holders get SIGKILL when the
 * trial dies (`setpriv --pdeathsig`): nbdfuse's death aborts its FUSE connection, the tools'
 * holder's death (`--kill-child`) ends the PID namespace, then the mount namespace, and the
 * kernel drops the ext4 mount (its last writes fail fast on the aborted connection) and the
 * loop device (autoclear). nbdfuse is kept out of the ext4's namespace on purpose: were it the
 * namespace's last process, the kernel would sync the ext4 through it as it exits, and wait
 * forever.
 */
import { NotRunnable } from '../types.js';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from 'shadow-drivers';
import { startNbdServer, type NbdServer } from 'shadow-drivers';
import type { AppReport } from '../types.js';
import type { AppContext } from './context.js';

export interface Run { stdout: string; ms: number }

/** Runs a command; rejects (with its stderr) on a non-zero exit or after its deadline. */
export function run(command: string, args: string[], options: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: options.cwd, timeout: options.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ').slice(0, 80)} failed (${error.message.split('\n')[0]}): ${stderr.trim().slice(0, 300)}`));
        else resolve({ stdout, ms: Date.now() - started });
      });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

export interface KernelExt4 {
  /** The ext4 mount point (inside the namespace only). */
  readonly mountpoint: string;
  /** Runs a command inside the namespace, where the mount is. */
  run(command: string, args: string[], options?: { cwd?: string; input?: string; timeoutMs?: number }): Promise<Run>;
  /** sync + umount, then `e2fsck -fn` on the disk's bytes: what it said, or undefined if it found it clean. */
  unmountAndCheck(): Promise<string | undefined>;
  /** Unmounts if still mounted, ends nbdfuse, closes the NBD server; the problems met, if any. */
  teardown(): Promise<string[]>;
}

const missingReason = async (): Promise<string | undefined> => {
  if (process.getuid?.() !== 0) return 'needs root (mount, loop devices)';
  for (const tool of ['nbdfuse', 'setpriv', 'unshare', 'nsenter', 'mkfs.ext4']) {
    if (await run('sh', ['-c', `command -v ${tool}`]).then(() => false, () => true)) return `${tool} is not installed`;
  }
  return undefined;
};

/** Formats the (open) disk as ext4 and mounts it in a namespace of the trial's own. */
export async function mountKernelExt4(disk: BlockDevice, sizeBytes: number): Promise<KernelExt4> {
  const missing = await missingReason();
  if (missing) throw new NotRunnable(`no kernel file system for this application: ${missing}`);
  const dir = join(tmpdir(), 'ext4');
  const socket = join(dir, 'nbd.sock');
  const fuseFile = join(dir, 'fuse', 'disk');
  const mountpoint = join(dir, 'mnt');
  await mkdir(join(dir, 'fuse'), { recursive: true });
  await mkdir(mountpoint);
  let server: NbdServer | undefined;
  const processes: Holder[] = [];
  let inner = 0;
  const inside = (command: string, args: string[], options?: { cwd?: string; input?: string; timeoutMs?: number }) =>
    run('nsenter', ['-t', String(inner), '-m', '-p', '--',
      ...(options?.cwd ? ['sh', '-c', 'cd "$0" && exec "$@"', options.cwd] : []), command, ...args], { ...options, cwd: undefined });
  let mounted = false;
  const unmount = async (problems: string[]) => {
    mounted = false;
    await inside('sync', ['-f', mountpoint], { timeoutMs: 10_000 }).catch((e: Error) => problems.push(e.message));
    await inside('umount', [mountpoint], { timeoutMs: 10_000 }).catch((e: Error) => problems.push(e.message));
  };
  let image = fuseFile;
  const unmountAndCheck = async (): Promise<string | undefined> => {
    const problems: string[] = [];
    await unmount(problems);
    if (problems.length) return problems.join('; ');
    return inside('e2fsck', ['-fn', image]).then(() => undefined, (e: Error) => e.message);
  };
  const teardown = async (): Promise<string[]> => {
    const problems: string[] = [];
    if (mounted) await unmount(problems);
    // The tools' namespace first (nothing may use the FUSE file when nbdfuse goes), then nbdfuse.
    for (const holder of processes.reverse()) await holder.stop();
    processes.length = 0;
    await server?.close().catch((e: Error) => problems.push(e.message));
    return problems;
  };
  try {
    ({ server } = await startNbdServer({ exports: { '': disk }, listen: [{ path: socket }] }));
    const nbdfuse = holder(['unshare', '--mount', '--propagation', 'private', 'nbdfuse', fuseFile, `nbd+unix:///?socket=${socket}`]);
    processes.push(nbdfuse);
    image = `/proc/${nbdfuse.pid}/root${fuseFile}`;
    const end = Date.now() + 10_000;
    for (;;) {
      const size = await stat(image).then((st) => st.size, () => -1);
      if (size === sizeBytes) break;
      if (nbdfuse.gone() || Date.now() > end) throw new Error(`nbdfuse did not serve the disk (size ${size}): ${nbdfuse.stderr()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const tools = holder(['unshare', '--pid', '--fork', '--kill-child=SIGKILL', '--mount', '--propagation', 'private', 'sleep', 'infinity']);
    processes.push(tools);
    // The tools' namespace's first process (sleep) is the child of unshare.
    while (!inner) {
      const children = await readFile(`/proc/${tools.pid}/task/${tools.pid}/children`, 'utf8').catch(() => '');
      inner = Number(children.trim().split(/\s+/)[0]) || 0;
      if (inner) break;
      if (tools.gone() || Date.now() > end) throw new Error(`the namespace did not start: ${tools.stderr()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await inside('mkfs.ext4', ['-q', '-F', '-E', 'nodiscard,lazy_itable_init=1,lazy_journal_init=1', image]);
    await inside('mount', ['-o', 'loop', image, mountpoint]);
    mounted = true;
    return { mountpoint, run: inside, unmountAndCheck, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

interface Holder { pid: number; gone(): boolean; stderr(): string; stop(): Promise<void> }

/** A process that gets SIGKILL when this one dies; `stop` ends it (SIGTERM, then SIGKILL) and waits. */
function holder(command: string[]): Holder {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const exited = new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.once('error', (e) => { stderr ||= e.message; resolve(); }); });
  return {
    pid: child.pid ?? 0, gone, stderr: () => stderr,
    async stop() {
      if (gone() || child.pid === undefined) return;
      child.kill('SIGTERM');
      const deadline = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(deadline);
    },
  };
}

export interface StorageOutcome { errors: number; verified: boolean; detail: string }

/**
 * A storage application's trial: a `ram` disk (the fault's target) formatted and mounted as
 * above; `body` runs the application on it. Afterwards the file system is unmounted and must
 * pass `e2fsck -fn`. A command that fails ends the body: the application saw an error.
 */
export async function onKernelExt4(context: AppContext, name: string, sizeBytes: number,
  body: (fs: KernelExt4) => Promise<StorageOutcome>): Promise<AppReport> {
  const disk = await context.rt.attachBlock(context.spec(name, { className: 'block', driver: 'ram', config: { sizeBytes } }, true));
  await disk.open();
  const started = Date.now();
  const fs = await mountKernelExt4(disk, sizeBytes);
  const mountedAt = Date.now();
  try {
    let outcome: StorageOutcome;
    let finished = true;
    try {
      outcome = await body(fs);
    } catch (error) {
      finished = false;
      outcome = { errors: 1, verified: false, detail: `the application failed: ${(error as Error).message}` };
    }
    const ranAt = Date.now();
    const fsck = await fs.unmountAndCheck();
    const times = `mkfs+mount ${mountedAt - started} ms, application ${ranAt - mountedAt} ms, umount+fsck ${Date.now() - ranAt} ms`;
    return {
      finished, errors: outcome.errors, verified: outcome.verified && !fsck,
      detail: `${outcome.detail}; file system ${fsck ? `not clean: ${fsck.slice(0, 200)}` : 'clean (e2fsck -fn)'} (${times})`,
    };
  } finally {
    const problems = await fs.teardown();
    if (problems.length) process.stderr.write(`tear-down: ${problems.join('; ')}\n`);
  }
}
