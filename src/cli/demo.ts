/**
 * `shadowd demo`: the project's main job on the default virtual devices. Applications write
 * and verify a checksummed data set on a `ram` disk and on a disk-image `file` disk through
 * shadowed drivers, while a seeded schedule injects faults of every kind into the drivers.
 * The run passes only if no application saw an error, no block differed, and every injected
 * fault was followed by a recovery.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChecksummedDataset, type DatasetStats } from '../apps/checksummed-dataset.js';
import { faultKinds } from '../faults/fault-kinds.js';
import { FaultSchedule, faultsFor, mulberry32, type ScheduleStats } from '../faults/schedule.js';
import type { FailureKind } from '../errors.js';
import type { DomainKind } from '../isolation/domain.js';
import type { BlockDevice } from '../kernel/block-device.js';
import type { FailureEvent, RecoveryEvent } from '../observe/channels.js';
import { createRuntime, type Runtime } from '../runtime.js';

export interface DemoOptions { duration: number; domain: string; faultInterval: number; seed?: number }

export interface DemoRunOptions extends DemoOptions {
  /** Size of each disk (default 64 MiB). */
  sizeMiB?: number;
  /** Ends the fault phase early (SIGINT); the data set is still verified and everything cleaned up. */
  signal?: AbortSignal;
  /** Live progress, every `progressEveryMs`. */
  onProgress?(line: string): void;
  progressEveryMs?: number;
}

export interface DeviceReport {
  device: string;
  driver: string;
  faults: ScheduleStats;
  /** Every recovery of the device (injected faults and any other failure), in order. */
  recoveries: RecoveryEvent[];
  /** Failures the runtime detected, by how it detected them. */
  failures: Partial<Record<FailureKind, number>>;
  app: DatasetStats;
  /** The BlockDevice the application held from the start is still the kernel's device face. */
  sameObject: boolean;
  gaveUp: string | undefined;
}

export interface DemoResult {
  domain: DomainKind;
  seed: number;
  elapsedMs: number;
  devices: DeviceReport[];
  /** Why the run failed; empty when it passed. */
  verdict: string[];
}

interface Disk {
  name: string;
  driver: 'ram' | 'file';
  config: Record<string, unknown>;
}

/** Runs the demo and returns its numbers; prints nothing. */
export async function executeDemo(options: DemoRunOptions): Promise<DemoResult> {
  const domain = parseDomain(options.domain);
  const seed = options.seed ?? Math.floor(Math.random() * 1e9);
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-demo-'));
  // The disk image never outlives the demo, even when the process exits under us (second ^C).
  const removeImage = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeImage);
  const rt = createRuntime();
  try {
    const disks = createDisks(dir, (options.sizeMiB ?? 64) * 1024 * 1024);
    const events = watch(rt);
    const faces = await Promise.all(disks.map((disk) => rt.attachBlock(specFor(disk, domain))));
    return await exercise(rt, { ...options, domain, seed }, disks, faces, events);
  } finally {
    await rt.close();
    process.off('exit', removeImage);
    removeImage();
  }
}

/** A `ram` disk and a `file` disk on a sparse image of the same size in `dir`. */
function createDisks(dir: string, sizeBytes: number): Disk[] {
  const image = join(dir, 'disk.img');
  writeFileSync(image, '');
  truncateSync(image, sizeBytes); // the file driver needs the image at its final size
  return [
    { name: 'ram0', driver: 'ram', config: { sizeBytes } },
    { name: 'file0', driver: 'file', config: { path: image } },
  ];
}

/** The applications run and the faults fall; then the data set is verified whole. */
async function exercise(rt: Runtime, options: DemoRunOptions & { domain: DomainKind; seed: number }, disks: Disk[],
  faces: BlockDevice[], events: Events): Promise<DemoResult> {
  const { domain, seed } = options;
  const started = performance.now();
  // One generator per stream: a seed gives each device the same faults and requests whatever
  // the timing between devices.
  const apps = faces.map((face, i) => new ChecksummedDataset(face, { random: mulberry32(seed + 2 * i), tag: seed + i }));
  const schedules = disks.map((disk, i) => new FaultSchedule(rt, {
    device: disk.name, kinds: faultsFor(domain), meanIntervalMs: options.faultInterval, random: mulberry32(seed + 2 * i + 1),
  }));
  await Promise.all(apps.map((app) => app.open()));
  apps.forEach((app) => app.start());
  schedules.forEach((schedule) => schedule.start());
  const progress = () => options.onProgress?.(progressLine(performance.now() - started, disks, apps, schedules, events));
  await runFor(options.duration * 1000, options.signal, options.progressEveryMs ?? 1000, progress);
  // Faults stop first, while requests still flow: an armed fault needs a call to show.
  await Promise.all(schedules.map((s) => s.stop()));
  await Promise.all(apps.map((app) => app.stop()));
  await Promise.all(apps.map((app) => app.verifyAll()));
  await Promise.all(apps.map((app) => app.close()));
  progress();
  const devices = disks.map((disk, i): DeviceReport => ({
    device: disk.name, driver: disk.driver, faults: schedules[i]!.stats,
    recoveries: events.recoveries(disk.name), failures: events.failures(disk.name), app: apps[i]!.stats,
    sameObject: sameDevice(rt, disk.name, faces[i]!), gaveUp: events.gaveUp.get(disk.name),
  }));
  return { domain, seed, elapsedMs: performance.now() - started, devices, verdict: verdictOf(devices) };
}

/** `shadowd demo`: runs, shows progress on stderr, prints the table, returns the exit code. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const abort = new AbortController();
  const interrupted = () => {
    if (abort.signal.aborted) process.exit(130); // a second ^C: stop now
    process.stderr.write('\ninterrupted: stopping the faults, verifying the data set, cleaning up\n');
    abort.abort();
  };
  process.on('SIGINT', interrupted);
  const tty = process.stderr.isTTY === true;
  try {
    const result = await executeDemo({
      ...options, signal: abort.signal, progressEveryMs: tty ? 250 : 5000,
      onProgress: (line) => process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`),
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(renderReport(result));
    if (abort.signal.aborted) return 130;
    return result.verdict.length === 0 ? 0 : 1;
  } catch (err) {
    process.stderr.write(`\ndemo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', interrupted);
  }
}

function parseDomain(domain: string): DomainKind {
  if (domain === 'worker' || domain === 'process') return domain;
  throw new Error(`--domain must be worker or process, not ${JSON.stringify(domain)}`);
}

function specFor(disk: Disk, domain: DomainKind) {
  return {
    ...disk, domain,
    warmStandby: true, // recovery takes the spare domain instead of paying a cold start
    restart: { intensity: 50, periodMs: 10_000 }, // a fault a second is the demo, not a reason to give up
    // Spinning and silent drivers are found in a fraction of the default 1.5 s / 2 s. A child
    // process answers pings over IPC, which lags more on a busy machine: at 500 ms it is
    // falsely declared hung there (recovered, but a failure nobody injected).
    heartbeatTimeoutMs: domain === 'process' ? 1000 : 500,
    deadlineScale: 0.25,
  };
}

type Events = ReturnType<typeof watch>;

/** Recovery, failure and give-up events, per device. */
function watch(rt: Runtime) {
  const recoveries = new Map<string, RecoveryEvent[]>();
  const failures = new Map<string, Partial<Record<FailureKind, number>>>();
  const gaveUp = new Map<string, string>();
  rt.manager.on('recovery', (e: RecoveryEvent) => {
    const list = recoveries.get(e.device) ?? [];
    recoveries.set(e.device, list);
    list.push(e);
  });
  rt.manager.on('failure', (e: FailureEvent) => {
    const kinds = failures.get(e.device) ?? {};
    failures.set(e.device, kinds);
    kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  });
  rt.manager.on('gave-up', (e: { device: string; reason: string }) => { gaveUp.set(e.device, e.reason); });
  return {
    recoveries: (device: string) => recoveries.get(device) ?? [],
    failures: (device: string) => failures.get(device) ?? {},
    gaveUp,
  };
}

/** Waits `ms` (or until aborted), reporting progress on the way. */
function runFor(ms: number, signal: AbortSignal | undefined, everyMs: number, progress: () => void): Promise<void> {
  return new Promise((resolve) => {
    const ticker = setInterval(progress, everyMs);
    const done = () => { clearTimeout(timer); clearInterval(ticker); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
    if (signal?.aborted) done();
  });
}

function sameDevice(rt: Runtime, name: string, face: BlockDevice): boolean {
  const device = rt.kernel.device(name);
  return device !== undefined && face === rt.block(device) && face.device === device;
}

function verdictOf(devices: DeviceReport[]): string[] {
  const verdict: string[] = [];
  for (const d of devices) {
    if (d.app.errors > 0) verdict.push(`${d.device}: the application saw ${d.app.errors} errors`);
    if (d.app.mismatches > 0) verdict.push(`${d.device}: ${d.app.mismatches} blocks differed from what was written`);
    for (const u of d.faults.unrecovered) verdict.push(`${d.device}: fault not recovered: ${u}`);
    if (d.gaveUp) verdict.push(`${d.device}: the driver was given up: ${d.gaveUp}`);
    if (!d.sameObject) verdict.push(`${d.device}: the device object changed`);
    const seen = new Map<string, number>();
    for (const p of d.app.problems) seen.set(p, (seen.get(p) ?? 0) + 1);
    for (const [p, n] of seen) verdict.push(`${d.device}: ${p}${n > 1 ? ` (${n} times)` : ''}`);
  }
  return verdict;
}

function progressLine(elapsedMs: number, disks: Disk[], apps: ChecksummedDataset[], schedules: FaultSchedule[],
  events: Events): string {
  const parts = disks.map((disk, i) => {
    const s = apps[i]!.stats;
    return `${disk.name}: ${s.reads + s.writes} req, ${schedules[i]!.stats.total} faults, ` +
      `${events.recoveries(disk.name).length} recovered, ${s.errors} errors, ${s.mismatches} bad`;
  });
  return `[${(elapsedMs / 1000).toFixed(1)} s] ${parts.join(' | ')}`;
}

/** The final table: one column per device and a total. */
export function renderReport(result: DemoResult): string {
  const { devices } = result;
  const sum = (f: (d: DeviceReport) => number) => devices.reduce((n, d) => n + f(d), 0);
  const times = (d: DeviceReport) => d.recoveries.map((e) => e.totalMs);
  const all = devices.flatMap(times);
  const rows: [string, ...string[]][] = [['', ...devices.map((d) => `${d.device} (${d.driver})`), 'total']];
  const row = (label: string, f: (d: DeviceReport) => number | string, total: number | string) =>
    rows.push([label, ...devices.map((d) => String(f(d))), String(total)]);
  row('faults injected', (d) => d.faults.total, sum((d) => d.faults.total));
  for (const kind of faultKinds) {
    const n = (d: DeviceReport) => d.faults.injected[kind] ?? 0;
    if (sum(n) > 0) row(`  ${kind}`, n, sum(n));
  }
  row('faults followed by recovery', (d) => d.faults.recovered, sum((d) => d.faults.recovered));
  const detected = (d: DeviceReport) => Object.values(d.failures).reduce((a, b) => a + b, 0);
  row('failures detected', detected, sum(detected));
  for (const kind of new Set(devices.flatMap((d) => Object.keys(d.failures) as FailureKind[]))) {
    const n = (d: DeviceReport) => d.failures[kind] ?? 0;
    row(`  as ${kind}`, n, sum(n));
  }
  row('recoveries', (d) => d.recoveries.length, sum((d) => d.recoveries.length));
  row('  from a warm standby', (d) => d.recoveries.filter((e) => e.warmStandby).length,
    sum((d) => d.recoveries.filter((e) => e.warmStandby).length));
  row('application-visible errors', (d) => d.app.errors, sum((d) => d.app.errors));
  row('requests (read/write/flush)', (d) => `${d.app.reads}/${d.app.writes}/${d.app.flushes}`,
    `${sum((d) => d.app.reads)}/${sum((d) => d.app.writes)}/${sum((d) => d.app.flushes)}`);
  row('blocks verified', (d) => d.app.blocksVerified, sum((d) => d.app.blocksVerified));
  row('bytes verified', (d) => mib(d.app.bytesVerified), mib(sum((d) => d.app.bytesVerified)));
  row('mismatches', (d) => d.app.mismatches, sum((d) => d.app.mismatches));
  row('recovery p50 (ms)', (d) => ms(percentile(times(d), 50)), ms(percentile(all, 50)));
  row('recovery p99 (ms)', (d) => ms(percentile(times(d), 99)), ms(percentile(all, 99)));
  row('same device object (===)', (d) => (d.sameObject ? 'yes' : 'NO'), devices.every((d) => d.sameObject) ? 'yes' : 'NO');
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  const head = `shadowd demo: ${result.domain} domains, ${(result.elapsedMs / 1000).toFixed(1)} s, seed ${result.seed}`;
  const verdict = result.verdict.length === 0
    ? 'PASS: no application saw an error, every block verified, every fault recovered; the device objects never changed'
    : `FAIL:\n${result.verdict.map((v) => `  - ${v}`).join('\n')}`;
  const slowest = devices.flatMap((d) => (d.recoveries.length > 0 ? [`  ${d.device}: ${describeSlowest(d.recoveries)}`] : []));
  const slow = slowest.length > 0 ? `\nslowest recovery, by phase:\n${slowest.join('\n')}\n` : '';
  return `${head}\n\n${lines.join('\n')}\n${slow}\n${verdict}\n`;
}

function describeSlowest(recoveries: RecoveryEvent[]): string {
  const e = recoveries.reduce((a, b) => (b.totalMs > a.totalMs ? b : a));
  const phases = Object.entries(e.phases).map(([phase, t]) => `${phase} ${ms(t)}`).join(', ');
  return `${ms(e.totalMs)} ms after ${e.cause}${e.call ? ` in ${e.call}` : ''} ` +
    `(${e.warmStandby ? 'warm standby' : 'cold start'}, ${e.attempts} attempt${e.attempts > 1 ? 's' : ''}): ${phases}`;
}

export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
