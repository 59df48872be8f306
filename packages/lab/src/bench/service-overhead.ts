/**
 * What the service adds: nbdcopy of a whole `ram` disk through `shadowd run`'s NBD export
 * (config file, supervisor, counted device, control socket and log) against the same disk
 * exported by `shadowd export` (one device, no service around it). Both are real processes
 * of the installed `shadowd`, both a shadowed `ram` driver in a worker domain with a warm
 * standby. Each disk is written in full once before anything is measured (no first touch is
 * timed); then rounds rotate which export goes first, a write (from a random file) then a
 * read (to `null:`) of each. Values are medians over rounds; the ratio is the median of the
 * per-round ratios run/export (1.00 = no cost).
 *
 * A second `shadowd run` serves its metrics endpoint (prom-client's process metrics, whose GC
 * observer runs at every collection): what an operator who scrapes it pays, in its own row.
 *
 * "Within noise" is measured, not asserted: a second, identical `shadowd export` runs in every
 * round beside the two (an A/A control). Its per-round ratios to the first export are what
 * noise alone gives on this machine; the service's cost is within noise when the median of
 * its ratios lies inside the control's 10th-90th percentile range.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { median, quantile } from './stats.js';

export interface ServiceOverheadOptions { sizeBytes: number; rounds: number; timeoutMs: number; progress?(message: string): void }

export interface ServiceOverheadResult {
  options: Omit<ServiceOverheadOptions, 'progress'>;
  client: string;
  /** MB/s (10^6 bytes) per round. */
  run: { read: number[]; write: number[] };
  /** `shadowd run` with its metrics endpoint served (prom-client's process metrics collected). */
  served: { read: number[]; write: number[] };
  export: { read: number[]; write: number[] };
  /** The A/A control: a second `shadowd export`, identical to the first. */
  control: { read: number[]; write: number[] };
  /** Median of per-round run/export ratios. */
  ratio: { read: number; write: number };
  /** Median of per-round served/export ratios. */
  servedRatio: { read: number; write: number };
  /** Per-round control/export ratios: their 10th, 50th and 90th percentiles (noise alone). */
  noise: { read: [number, number, number]; write: [number, number, number] };
  /** Whether the median run/export ratio lies within the noise range. */
  withinNoise: { read: boolean; write: boolean };
}

const shadowdBin = join(dirname(createRequire(import.meta.url).resolve('shadow-drivers/package.json')), 'bin', 'shadowd.js');

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (e, out, err) =>
    (e ? reject(new Error(`${command} ${args.join(' ')}: ${e.message} ${err}`)) : resolve(out))));
}

/** Starts a server process and waits for its unix socket (or its early exit). */
async function server(args: string[], cwd: string, socket: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [shadowdBin, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const end = Date.now() + 30_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`shadowd ${args[0]} exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > end) { child.kill('SIGKILL'); throw new Error(`shadowd ${args[0]}: no socket within 30 s`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

async function timedCopy(from: string, to: string, options: ServiceOverheadOptions): Promise<number> {
  const start = performance.now();
  await run('nbdcopy', [from, to], options.timeoutMs);
  return options.sizeBytes / ((performance.now() - start) / 1000) / 1e6;
}

export async function measureServiceOverhead(options: ServiceOverheadOptions): Promise<ServiceOverheadResult> {
  const { progress, ...recorded } = options;
  const client = (await run('nbdcopy', ['--version'], 10_000)).split('\n')[0]!.trim();
  const dir = mkdtempSync(join(tmpdir(), `shadow-bench-${process.pid}-service-`));
  const children: ChildProcess[] = [];
  try {
    const image = join(dir, 'image.raw');
    const data = Buffer.alloc(options.sizeBytes);
    randomFillSync(data);
    writeFileSync(image, data);
    const config = (name: string, metrics: string) => writeFileSync(join(dir, `${name}.yaml`), [`control: ${name}-ctl.sock`, `metrics: ${metrics}`,
      'logLevel: warn', 'devices:', '  disk0:', '    class: block', '    driver: ram', '    domain: worker', '    warmStandby: true',
      `    config: { sizeBytes: ${options.sizeBytes} }`, `    frontend: { type: nbd, socket: ${name}.sock }`, ''].join('\n'));
    config('run', 'false');
    config('served', "'127.0.0.1:0'");
    progress?.(`service: starting two shadowd run and two shadowd export (${options.sizeBytes / 2 ** 20} MiB ram disks)`);
    for (const name of ['run', 'served']) children.push(await server(['run', `${name}.yaml`], dir, join(dir, `${name}.sock`)));
    for (const name of ['export', 'control']) {
      const socket = join(dir, `${name}.sock`);
      children.push(await server(['export', '--domain', 'worker', '--size', String(options.sizeBytes), '--socket', socket], dir, socket));
    }
    const uris = {
      run: `nbd+unix:///disk0?socket=${join(dir, 'run.sock')}`,
      served: `nbd+unix:///disk0?socket=${join(dir, 'served.sock')}`,
      export: `nbd+unix:///?socket=${join(dir, 'export.sock')}`,
      control: `nbd+unix:///?socket=${join(dir, 'control.sock')}`,
    };
    for (const uri of Object.values(uris)) await run('nbdcopy', [image, uri], options.timeoutMs);
    const empty = () => ({ read: [] as number[], write: [] as number[] });
    const result = { run: empty(), served: empty(), export: empty(), control: empty() };
    const names = ['run', 'served', 'export', 'control'] as const;
    for (let round = 0; round < options.rounds; round++) {
      progress?.(`service: round ${round + 1} of ${options.rounds}`);
      // Each export goes first, second and third equally often.
      const order = names.map((_, k) => names[(k + round) % names.length]!);
      for (const which of order) {
        result[which].write.push(await timedCopy(image, uris[which], options));
        result[which].read.push(await timedCopy(uris[which], 'null:', options));
      }
    }
    const ratios = (of: 'run' | 'served' | 'control', d: 'read' | 'write') => result[of][d].map((v, i) => v / result.export[d][i]!);
    const band = (d: 'read' | 'write'): [number, number, number] => {
      const r = ratios('control', d);
      return [quantile(r, 0.1), quantile(r, 0.5), quantile(r, 0.9)];
    };
    const ratio = { read: median(ratios('run', 'read')), write: median(ratios('run', 'write')) };
    const servedRatio = { read: median(ratios('served', 'read')), write: median(ratios('served', 'write')) };
    const noise = { read: band('read'), write: band('write') };
    const inside = (d: 'read' | 'write') => ratio[d] >= noise[d][0] && ratio[d] <= noise[d][2];
    return { options: recorded, client, ...result, ratio, servedRatio, noise, withinNoise: { read: inside('read'), write: inside('write') } };
  } finally {
    for (const child of children) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
