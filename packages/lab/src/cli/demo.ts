/**
 * `shadow-lab demo`: the project's main job on the default virtual devices. Applications write
 * and verify a checksummed data set on a `ram` disk and on a disk-image `file` disk through
 * shadowed drivers, a wa-sqlite bank runs transfers on a `ram` disk of its own and a
 * userspace ext4 writes files on a `file` disk of its own, and hosts on three `virtual` NICs
 * joined by the kernel's learning switch send sequence-numbered frames to each other, and a
 * stream is played on one virtual sound card and another captured from a second, while a
 * seeded schedule injects faults of every kind into all their drivers. The run passes only if
 * no application saw an error, no block, transfer or file was wrong, no frame was lost or
 * reordered outside a recovery window (or duplicated at all), every audio frame written was
 * played once and in order and none captured twice or out of order, and every injected fault
 * was followed by a recovery.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChecksummedDataset } from '../apps/checksummed-dataset.js';
import { FaultSchedule, faultsFor, mulberry32 } from '../faults/schedule.js';
import type { DomainKind } from 'shadow-drivers';
import type { BlockDevice } from 'shadow-drivers';
import { createRuntime, type Runtime } from 'shadow-drivers';
import { startDashboard, type Dashboard } from 'shadow-drivers/dashboard';
import type { AppOutcome, DemoApp } from './demo-apps/app.js';
import { DeviceEvents } from './demo-apps/device-events.js';
import { BankApp } from './demo-apps/bank-app.js';
import { Ext4App } from './demo-apps/ext4-app.js';
import { NetDemo } from './demo-apps/net-app.js';
import { SoundDemo } from './demo-apps/sound-app.js';
import { HostStalls } from './demo-apps/host-stalls.js';
import { renderReport, type AppReport, type DemoResult, type DeviceReport, type DiskReport } from './demo-report.js';

export { percentile, renderReport } from './demo-report.js';
export type { AppReport, DemoResult, DeviceReport, DiskReport } from './demo-report.js';

export interface DemoOptions {
  duration: number; domain: string; faultInterval: number; seed?: number;
  /** Serve the live dashboard on the demo's devices (127.0.0.1, `dashboardPort` or a free port). */
  dashboard?: boolean; dashboardPort?: number;
}

export interface DemoRunOptions extends DemoOptions {
  /** Size of each disk (default 64 MiB). */
  sizeMiB?: number;
  /** Ends the fault phase early (SIGINT); the data set is still verified and everything cleaned up. */
  signal?: AbortSignal;
  /**
   * Run on past `duration` until every disk took this many faults (at most 10 × `duration`): on a
   * loaded machine recoveries take longer and faults come slower, so a test asks for a count, not
   * a time.
   */
  minFaultsPerDisk?: number;
  /** Live progress, every `progressEveryMs`. */
  onProgress?(line: string): void;
  progressEveryMs?: number;
  /** The dashboard's URL (with its token), once it serves. */
  onDashboard?(url: string): void;
}

interface Disk {
  name: string;
  driver: 'ram' | 'file';
  config: Record<string, unknown>;
  /** The application of its own, if not a checksummed data set. */
  app?: DemoApp;
}

const MiB = 1024 * 1024;

/** Runs the demo and returns its numbers; prints nothing. */
export async function executeDemo(options: DemoRunOptions): Promise<DemoResult> {
  const domain = parseDomain(options.domain);
  const seed = options.seed ?? Math.floor(Math.random() * 1e9);
  const dir = mkdtempSync(join(tmpdir(), `shadowd-demo-${process.pid}-`));
  // The disk image never outlives the demo, even when the process exits under us (second ^C).
  const removeImage = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeImage);
  const rt = createRuntime({ faultInjection: true });
  let net: NetDemo | undefined;
  let sound: SoundDemo | undefined;
  const stalls = new HostStalls();
  let dashboard: Dashboard | undefined;
  // Requests each data set made so far, for the dashboard's request rates (filled by exercise).
  const counters = new Map<string, () => number>();
  try {
    if (options.dashboard) {
      dashboard = await startDashboard(rt, { port: options.dashboardPort ?? 0, requests: (device) => counters.get(device)?.() });
      options.onDashboard?.(dashboard.url);
    }
    const skipped: DemoResult['skipped'] = [];
    const disks = createDisks(dir, (options.sizeMiB ?? 64) * MiB, seed, skipped);
    const events = new DeviceEvents(rt.manager);
    const faces = await Promise.all(disks.map((disk) => rt.attachBlock(specFor(disk, domain))));
    net = await NetDemo.create(rt, { domain, seed, faultInterval: options.faultInterval, events,
      attach: (name, socket) => rt.attachNet(specFor({ name, driver: 'virtual', config: { socket } }, domain)) });
    sound = await SoundDemo.create(rt, { domain, seed, faultInterval: options.faultInterval, events, stalls,
      attach: (name, socket) => rt.attachSound(specFor({ name, driver: 'virtual', config: { socket } }, domain)) });
    return { ...await exercise(rt, { ...options, domain, seed, counters }, disks, faces, events, net, sound), skipped };
  } finally {
    stalls.stop();
    await dashboard?.close();
    await rt.close();
    await net?.close(); // the NICs' hardware outlives their drivers
    await sound?.close(); // and so do the sound cards
    process.off('exit', removeImage);
    removeImage();
  }
}

/**
 * A `ram` disk and a `file` disk (a sparse image of the same size in `dir`) for the data
 * sets; a 16 MiB `ram` disk for the database and a 32 MiB `file` disk for ext4 (when mke2fs
 * is installed to make the filesystem).
 */
function createDisks(dir: string, sizeBytes: number, seed: number, skipped: DemoResult['skipped']): Disk[] {
  const image = (name: string, bytes: number) => {
    const path = join(dir, name);
    writeFileSync(path, '');
    truncateSync(path, bytes); // the file driver needs the image at its final size
    return path;
  };
  const disks: Disk[] = [
    { name: 'ram0', driver: 'ram', config: { sizeBytes } },
    { name: 'file0', driver: 'file', config: { path: image('disk.img', sizeBytes) } },
    { name: 'db0', driver: 'ram', config: { sizeBytes: 16 * MiB }, app: new BankApp(seed + 100) },
  ];
  const noExt4 = Ext4App.unavailable();
  if (noExt4) skipped.push({ title: 'ext4', reason: noExt4 });
  else disks.push({ name: 'fs0', driver: 'file', config: { path: image('fs.img', 32 * MiB) }, app: new Ext4App(seed + 101) });
  return disks;
}

/** The applications run and the faults fall; then the data set is verified whole. */
async function exercise(rt: Runtime, options: DemoRunOptions & { domain: DomainKind; seed: number; counters: Map<string, () => number> }, disks: Disk[],
  faces: BlockDevice[], events: DeviceEvents, net: NetDemo, sound: SoundDemo): Promise<Omit<DemoResult, 'skipped'>> {
  const { domain, seed } = options;
  const started = performance.now();
  // One generator per stream: a seed gives each device the same faults and requests whatever
  // the timing between devices.
  const datasets = new Map(disks.flatMap((disk, i) => (disk.app ? [] : [[disk, new ChecksummedDataset(faces[i]!, { random: mulberry32(seed + 2 * i), tag: seed + i })] as const])));
  const others = disks.flatMap((disk, i) => (disk.app ? [{ disk, app: disk.app, face: faces[i]! }] : []));
  for (const [disk, app] of datasets) options.counters.set(disk.name, () => app.stats.reads + app.stats.writes);
  const schedules = disks.map((disk, i) => new FaultSchedule(rt, {
    device: disk.name, kinds: faultsFor(domain), meanIntervalMs: options.faultInterval, random: mulberry32(seed + 2 * i + 1),
  }));
  await Promise.all([...datasets.values()].map((app) => app.open()));
  await Promise.all(others.map(async ({ app, face }) => { await face.open(); await app.start(face); }));
  await sound.start();
  datasets.forEach((app) => app.start());
  schedules.forEach((schedule) => schedule.start());
  net.start();
  const progress = () => options.onProgress?.(
    `${progressLine(performance.now() - started, disks, datasets, schedules, events)} | ${net.progress()} | ${sound.progress()}`);
  await runFor(options.duration * 1000, options.signal, options.progressEveryMs ?? 1000, progress);
  const enough = () => schedules.every((sc) => sc.stats.total >= (options.minFaultsPerDisk ?? 0));
  for (let extra = 0; !enough() && !options.signal?.aborted && extra < 9 * options.duration; extra++) {
    await runFor(1000, options.signal, options.progressEveryMs ?? 1000, progress);
  }
  // Faults stop first, while requests still flow: an armed fault needs a call to show.
  await Promise.all([...schedules.map((s) => s.stop()), net.stopFaults(), sound.stopFaults()]);
  await Promise.all([...[...datasets.values()].map((app) => app.stop()), ...others.map(({ app }) => app.stop())]);
  const [outcomes, network, audio] = await Promise.all([
    Promise.all(others.map(({ app }) => finish(app))),
    net.finish(),
    sound.finish(),
    Promise.all([...datasets.values()].map(async (app) => { await app.verifyAll(); await app.close(); })),
  ]);
  progress();
  const disk = (d: Disk, i: number): DiskReport => ({
    device: d.name, driver: d.driver, faults: schedules[i]!.stats, recoveries: events.recoveries(d.name),
    failures: events.failures(d.name), sameObject: sameDevice(rt, d.name, faces[i]!), gaveUp: events.gaveUp.get(d.name),
  });
  const devices = disks.flatMap((d, i): DeviceReport[] => (d.app ? [] : [{ ...disk(d, i), app: datasets.get(d)!.stats }]));
  const apps = await Promise.all(others.map(async ({ disk: d, app, face }, k): Promise<AppReport> => ({
    ...disk(d, disks.indexOf(d)), title: app.title, outcome: outcomes[k]!, requests: await face.stats(),
  })));
  return {
    domain, seed, elapsedMs: performance.now() - started, devices, apps, network, sound: audio,
    verdict: [...verdictOf(devices, apps), ...network.verdict, ...audio.verdict],
  };
}

/** An application's checks; a check that throws is a failed run, not a crashed demo. */
async function finish(app: DemoApp): Promise<AppOutcome> {
  try {
    return await app.finish();
  } catch (error) {
    return { errors: 1, summary: 'could not be checked', checks: [], problems: [(error as Error).message] };
  }
}

/** `shadow-lab demo`: runs, shows progress on stderr, prints the table, returns the exit code. */
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
      onDashboard: (url) => process.stderr.write(`dashboard: ${url}\n  (open it in a browser: every device, failure and recovery, live)\n`),
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

function specFor(disk: Pick<Disk, 'name' | 'config'> & { driver: string }, domain: DomainKind) {
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

function verdictOf(devices: DeviceReport[], apps: AppReport[]): string[] {
  const verdict: string[] = [];
  const common = (d: DiskReport, errors: number, problems: string[]) => {
    if (errors > 0) verdict.push(`${d.device}: the application saw ${errors} errors`);
    for (const u of d.faults.unrecovered) verdict.push(`${d.device}: fault not recovered: ${u}`);
    if (d.gaveUp) verdict.push(`${d.device}: the driver was given up: ${d.gaveUp}`);
    if (!d.sameObject) verdict.push(`${d.device}: the device object changed`);
    const seen = new Map<string, number>();
    for (const p of problems) seen.set(p, (seen.get(p) ?? 0) + 1);
    for (const [p, n] of seen) verdict.push(`${d.device}: ${p}${n > 1 ? ` (${n} times)` : ''}`);
  };
  for (const d of devices) {
    if (d.app.mismatches > 0) verdict.push(`${d.device}: ${d.app.mismatches} blocks differed from what was written`);
    common(d, d.app.errors, d.app.problems);
  }
  for (const a of apps) {
    for (const c of a.outcome.checks) if (c.status === 'failed') verdict.push(`${a.device}: ${a.title} ${c.name} failed: ${c.detail.split('\n')[0]}`);
    common(a, a.outcome.errors, a.outcome.problems);
  }
  return verdict;
}

function progressLine(elapsedMs: number, disks: Disk[], datasets: Map<Disk, ChecksummedDataset>, schedules: FaultSchedule[],
  events: DeviceEvents): string {
  const parts = disks.map((disk, i) => {
    const faults = `${schedules[i]!.stats.total} faults, ${events.recoveries(disk.name).length} recovered`;
    if (disk.app) return `${disk.name}: ${disk.app.progress()}, ${faults}`;
    const s = datasets.get(disk)!.stats;
    return `${disk.name}: ${s.reads + s.writes} req, ${faults}, ${s.errors} errors, ${s.mismatches} bad`;
  });
  return `[${(elapsedMs / 1000).toFixed(1)} s] ${parts.join(' | ')}`;
}
