/**
 * Whole-disk copies through the kernel's NBD export by a real client: `nbdcopy` reads a `ram`
 * disk's export to `null:` and writes it from nbdkit's `pattern` plugin (non-zero data, served
 * on its own unix socket), for the in-process, isolated and shadowed configurations, with
 * nbdkit's own `memory` export of the same size as the reference. Every target is written in
 * full before anything is measured (the runtime's disks through the BlockDevice, nbdkit's
 * through nbdcopy), so no measured copy is the first to touch a page of device memory: a first
 * touch costs nbdkit's memory plugin five times a later write. Then rounds run the
 * targets in a fresh random order each time, a write then a read of each; values are medians
 * over rounds, ratios medians of per-round ratios. No process is started from the kernel's
 * process once device memory is written (see Launcher).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlockDevice } from 'shadow-drivers';
import { startNbdServer, type NbdServer } from 'shadow-drivers';
import { createRuntime } from 'shadow-drivers';
import { benchRestartPolicy, configurations, fill, type ConfigurationId } from './configurations.js';
import { median, quantile, seededRandom, shuffled } from './stats.js';
import { fioArgs, fioWorkloads, readFioReport, type FioSample } from './nbd-fio.js';

export interface NbdCopyOptions {
  /** Size of every exported disk, and of each copy. */
  sizeBytes: number;
  rounds: number;
  /** The configurations copied through the kernel's export, besides the nbdkit reference. */
  configurations: ConfigurationId[];
  seed: number;
  /** Deadline of one nbdcopy run. */
  timeoutMs: number;
  /** Seconds (fractions allowed) of each fio workload per target and round, after the copies; 0: no fio. */
  fioSeconds: number;
  /** Rounds of fio (default `rounds`). */
  fioRounds?: number;
  /**
   * One more target, `c-worker-poll`: (c) worker + shadow in a runtime of its own whose
   * `busyPollUs` is this, its export given the same (the option for latency-bound callers);
   * 0 or absent: none.
   */
  pollUs?: number;
  progress?(message: string): void;
}

export type NbdCopyTargetId = ConfigurationId | 'c-worker-poll' | 'nbdkit';

export interface NbdCopyTarget {
  id: NbdCopyTargetId;
  label: string;
  /** MB/s (10^6 bytes) per round. */
  read: number[];
  write: number[];
  /** fio, per workload id (nbd-fio.ts): one sample per round. */
  fio: Record<string, FioSample[]>;
}

export interface NbdCopyResult {
  options: Omit<NbdCopyOptions, 'progress'>;
  /** `nbdcopy --version`'s first line. */
  client: string;
  /** `nbdkit --version`. */
  reference: string;
  /** `fio --version`, when fio ran. */
  fio: string | undefined;
  targets: NbdCopyTarget[];
}

const reference = 'nbdkit';

export async function measureNbdCopy(options: NbdCopyOptions): Promise<NbdCopyResult> {
  const { progress, ...recorded } = options;
  const client = (await run('nbdcopy', ['--version'], 10_000)).split('\n')[0]!.trim();
  const referenceVersion = (await run('nbdkit', ['--version'], 10_000)).trim();
  const dir = mkdtempSync(join(tmpdir(), `shadow-bench-${process.pid}-nbd-`));
  const runtime = createRuntime();
  const polling = options.pollUs ? createRuntime({ busyPollUs: options.pollUs }) : undefined;
  const servers: NbdServer[] = [];
  const children: { stop(): Promise<void> }[] = [];
  try {
    progress?.(`nbdcopy: attaching and filling ${options.configurations.length} disks of ${options.sizeBytes / 2 ** 20} MiB`);
    // Every child process of the kernel is started before device memory is written: see Launcher.
    const launcher = startLauncher(children);
    const source = await startNbdkit(dir, 'pattern', ['pattern', `size=${options.sizeBytes}`], children);
    const memory = await startNbdkit(dir, 'memory', ['memory', `size=${options.sizeBytes}`], children);
    const targets: (NbdCopyTarget & { uri: string })[] = [];
    const disks: BlockDevice[] = [];
    const exported = [
      ...options.configurations.map((id) => ({ c: configurations.find((x) => x.id === id)!, on: runtime, id: id as NbdCopyTargetId, pollUs: undefined })),
      ...(polling ? [{ c: configurations.find((x) => x.id === 'c-worker')!, on: polling, id: 'c-worker-poll' as const, pollUs: options.pollUs }] : []),
    ];
    for (const { c, on, id, pollUs } of exported) {
      const disk = await on.attachBlock({
        name: `bench-nbd-${id}`, driver: 'ram', domain: c.domain, recovery: c.recovery,
        config: { sizeBytes: options.sizeBytes }, restart: benchRestartPolicy,
      });
      await disk.open();
      disks.push(disk);
      const path = join(dir, `${id}.sock`);
      const { server } = await startNbdServer({ exports: { '': disk }, listen: [{ path }], ...(pollUs ? { busyPollUs: pollUs } : {}) });
      servers.push(server);
      const label = pollUs ? `${c.label}, busyPollUs ${pollUs}` : c.label;
      targets.push({ id, label, uri: unixUri(path), read: [], write: [], fio: {} });
    }
    for (const disk of disks) await fill(disk, options.sizeBytes);
    targets.push({ id: reference, label: `nbdkit ${referenceVersion.replace(/^nbdkit\s*/, '')} \`memory\``, uri: memory, read: [], write: [], fio: {} });
    await copy(launcher, source, memory, options);

    for (let round = 0; round < options.rounds; round++) {
      progress?.(`nbdcopy: round ${round + 1} of ${options.rounds}`);
      for (const t of shuffled(targets, seededRandom(options.seed * 1000 + round))) {
        t.write.push(await copy(launcher, source, t.uri, options));
        t.read.push(await copy(launcher, t.uri, 'null:', options));
      }
    }
    const fio = options.fioSeconds > 0 ? (await run('fio', ['--version'], 10_000)).trim() : undefined;
    const fioRounds = options.fioRounds ?? options.rounds;
    for (let round = 0; fio && round < fioRounds; round++) {
      progress?.(`fio: round ${round + 1} of ${fioRounds}`);
      for (const t of shuffled(targets, seededRandom(options.seed * 2000 + round))) {
        for (const w of fioWorkloads) {
          const output = join(dir, `fio-${t.id}-${w.id}.json`);
          await launcher.run('fio', fioArgs(w, t.uri, options.fioSeconds, output), options.timeoutMs);
          (t.fio[w.id] ??= []).push(readFioReport(w, output));
        }
      }
    }
    return { options: recorded, client, reference: referenceVersion, fio, targets: targets.map(({ uri: _, ...t }) => t) };
  } finally {
    await Promise.allSettled(servers.map((s) => s.close()));
    await runtime.close();
    await polling?.close();
    await Promise.allSettled(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const unixUri = (path: string) => `nbd+unix:///?socket=${path}`;

/** Waits for `done` at most `ms`; leaves no timer behind either way. */
async function within(done: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}

/** One whole-disk copy; its throughput in MB/s, from the client's start to its exit. */
async function copy(launcher: Launcher, from: string, to: string, options: NbdCopyOptions): Promise<number> {
  const ms = await launcher.run('nbdcopy', [from, to], options.timeoutMs);
  return options.sizeBytes / (ms / 1000) / 1e6;
}

/** Runs a client to its exit; rejects with its stderr on a non-zero exit or after the deadline. */
function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.message.split('\n')[0]}): ${stderr.trim()}`));
      else resolve(stdout);
    });
  });
}

/**
 * Starts the clients, from a small Node process of its own. A child process started by the
 * kernel's process itself (fork, then exec) leaves every page of the kernel's memory
 * copy-on-write, device memory included: the next write to each 4 KiB page of an in-process
 * or worker `ram` disk then takes a page fault, and the first write copy after each start
 * would measure those faults (here ~190 MB/s instead of GB/s), not the export.
 */
interface Launcher {
  /** Milliseconds from the command's start to its exit. */
  run(command: string, args: string[], timeoutMs: number): Promise<number>;
}

const launcherSource = `
const { spawn } = require('node:child_process');
process.on('message', ({ id, command, args, timeoutMs }) => {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let answered = false;
  const answer = (code) => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    process.send({ id, code, stderr, ms: performance.now() - started });
  };
  const timer = setTimeout(() => { stderr += 'deadline passed; '; child.kill('SIGKILL'); }, timeoutMs);
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  child.on('error', (error) => { stderr += error.message; answer(-1); });
  child.on('close', (code, signal) => answer(code ?? signal));
});
process.on('disconnect', () => process.exit(0));
`;

function startLauncher(started: { stop(): Promise<void> }[]): Launcher {
  const child = spawn(process.execPath, ['-e', launcherSource], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => { gone = true; resolve(); });
    // A failed spawn or send: the former never exits; a send only fails when the child is gone.
    child.on('error', () => { if (child.pid === undefined) { gone = true; resolve(); } });
  });
  const pending = new Map<number, { resolve(ms: number): void; reject(e: Error): void; line: string }>();
  let serial = 0;
  child.on('message', (m: { id: number; code: number | string; stderr: string; ms: number }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.code === 0) p.resolve(m.ms);
    else p.reject(new Error(`${p.line} failed (${m.code}): ${m.stderr.trim()}`));
  });
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error(`${p.line}: the launcher exited`));
    pending.clear();
  });
  started.push({
    stop: async () => {
      if (child.connected) child.disconnect();
      await within(exited, 5000);
      if (!gone) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  });
  return {
    run: (command, args, timeoutMs) => new Promise((resolve, reject) => {
      if (gone || !child.connected) {
        reject(new Error(`${command}: the launcher is gone`));
        return;
      }
      const id = ++serial;
      pending.set(id, { resolve, reject, line: `${command} ${args.join(' ')}` });
      child.send({ id, command, args, timeoutMs });
    }),
  };
}

/**
 * Starts nbdkit in the foreground on a unix socket in `dir` (it dies with this process if
 * this process dies first); resolves with its URI once it writes its pid file, which it does
 * when it accepts connections.
 */
async function startNbdkit(dir: string, name: string, args: string[], started: { stop(): Promise<void> }[]): Promise<string> {
  const socket = join(dir, `${name}.sock`);
  const pidFile = join(dir, `${name}.pid`);
  const child: ChildProcess = spawn('nbdkit', ['--foreground', '--exit-with-parent', '-U', socket, '-P', pidFile, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => { gone = true; resolve(); });
    // A spawn failure (ENOENT) emits 'error' and, having no process, never 'exit'.
    child.once('error', (error) => { stderr ||= error.message; gone = true; resolve(); });
  });
  started.push({
    stop: async () => {
      if (!gone) child.kill('SIGTERM');
      await within(exited, 5000);
      if (!gone) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  });
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile) && !gone && Date.now() < deadline) await sleep(5);
  if (gone || !existsSync(pidFile)) throw new Error(`nbdkit ${args.join(' ')} did not start: ${stderr.trim() || 'no pid file'}`);
  return unixUri(socket);
}

/** Per-round ratios of one target's samples to another's: median and quartiles. */
export function copyRatio(top: readonly number[], bottom: readonly number[]): { p25: number; median: number; p75: number } {
  const per = top.map((value, i) => value / bottom[i]!).filter(Number.isFinite);
  return { p25: quantile(per, 0.25), median: median(per), p75: quantile(per, 0.75) };
}
