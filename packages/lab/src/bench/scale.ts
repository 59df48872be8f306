/**
 * Scale: many shadowed `ram` disks on one host, each with its standby, attached one after
 * another in a fresh runtime per series, each series in a process of its own (scale-child.ts):
 * memory a runtime freed stays with the process that used it (the heap and malloc keep it), so
 * in one process a series would start from the last one's leftovers and reuse them. Per series: the memory the devices cost (PSS of the
 * kernel's process and every process it started, over the kernel's own before the first
 * attach), the attach time per device and until every standby is loaded, recovery times with
 * all of them attached (faults into devices chosen at random, each under a small load on that
 * device), and the aggregate rate of 4 KiB random reads with every device busy at once.
 *
 * A series is a domain, a device count and the standby kind passed as `warmStandby` (or a
 * domain group size), so a series of another standby kind is one more line in the plan.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BlockDevice, DriverSpec, FaultKind, RecoveryEvent } from 'shadow-drivers';
import { createRuntime, type Runtime } from 'shadow-drivers';
import { BackgroundLoad } from './background-load.js';
import { benchRestartPolicy } from './configurations.js';
import { nextRecovery, type IsolatedDomain } from './recovery-times.js';
import { sampleTreePss, type PssSample } from './scale-memory.js';
import { quantile, seededRandom } from './stats.js';

export type StandbyKind = NonNullable<DriverSpec['warmStandby']>;

export interface ScaleSeriesSpec {
  domain: IsolatedDomain;
  devices: number;
  warmStandby: StandbyKind;
  /**
   * Devices per domain group (`domainGroup`: one worker thread for that many devices, and one
   * spare thread per group, where their standbys wait when `warmStandby` is true).
   */
  groupSize?: number;
}

export interface ScaleOptions {
  series: ScaleSeriesSpec[];
  /** Each disk's size; every disk is written in full once, so its device memory is real pages. */
  sizeBytes: number;
  /** Faults per series, into devices chosen at random (seeded). */
  faults: number;
  /** Fault kinds, taken in turn. */
  kinds: readonly FaultKind[];
  /** The aggregate-read window, after a warm-up, with every device busy at `queueDepth`. */
  throughputMs: number;
  warmupMs: number;
  queueDepth: number;
  /**
   * Rounds of the aggregate reads. In a series of more than `baselineDevices` devices each round
   * has two windows in a random order: the first `baselineDevices` devices busy, then every
   * device busy, so "more devices serve no fewer reads" is a ratio within one runtime.
   */
  readRounds: number;
  baselineDevices: number;
  seed: number;
  progress?(message: string): void;
}

export interface ScaleSeries extends ScaleSeriesSpec {
  /** The kernel's process before the first attach. */
  before: PssSample;
  /** Every device attached, opened, filled, and its standby loaded. */
  after: PssSample;
  /** Per device, in attach order: attachBlock and open (ms). */
  attachMs: number[];
  /** From the first attach's start to the last open's end (ms). */
  attachWallMs: number;
  /** From the last open's end until every standby is loaded (ms). */
  standbyWaitMs: number;
  recoveries: RecoveryEvent[];
  /** Application requests that failed under the recoveries' loads (a shadow should hide all). */
  ioErrors: number;
  lastError: string | undefined;
  /** 4 KiB random reads per second, all devices together (the median over rounds). */
  readsPerSecond: number;
  /** Each round's windows: every device busy, and the first `baselineDevices` alone (when fewer than all). */
  readRounds: ReadRound[];
}

export interface ReadRound {
  all: number;
  /** Reads per second with only the first `devices` devices busy, in the same runtime. */
  baseline?: { devices: number; readsPerSecond: number };
}

const BLOCK = 4096;
const DEADLINE_MS = 60_000;
/** A whole series (256 attaches, 60 recoveries, the reads) in its child process. */
const SERIES_DEADLINE_MS = 15 * 60_000;
const EXIT_DEADLINE_MS = 10_000;
const child = fileURLToPath(new URL('./scale-child.js', import.meta.url));

export async function measureScale(options: ScaleOptions): Promise<ScaleSeries[]> {
  const out: ScaleSeries[] = [];
  for (const spec of options.series) {
    options.progress?.(`scale: ${spec.devices} ${spec.domain} devices, warmStandby ${String(spec.warmStandby)}`);
    out.push(await inChildProcess(spec, options));
  }
  return out;
}

/** What scale-child.ts sends back: progress lines, then the series or why it failed. */
export type ScaleChildMessage = { progress: string } | { series: ScaleSeries } | { error: string };

/** One series in a fresh node process; resolves once that process has exited. */
function inChildProcess(spec: ScaleSeriesSpec, options: ScaleOptions): Promise<ScaleSeries> {
  const { progress, ...plain } = options;
  return new Promise((resolve, reject) => {
    const proc = fork(child, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv: [] });
    let answer: ScaleChildMessage | undefined;
    let timer = setTimeout(() => proc.kill('SIGKILL'), SERIES_DEADLINE_MS);
    let lingered = false;
    proc.on('message', (m: ScaleChildMessage) => {
      if ('progress' in m) return progress?.(m.progress);
      answer = m;
      // The child ends by itself once its runtime is closed; if it does not, something was left open.
      clearTimeout(timer);
      timer = setTimeout(() => { lingered = true; proc.kill('SIGKILL'); }, EXIT_DEADLINE_MS);
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const which = `scale: the ${spec.devices} ${spec.domain} series`;
      if (lingered) reject(new Error(`${which}: its process did not exit within ${EXIT_DEADLINE_MS} ms of its result (a handle left open)`));
      else if (answer && 'series' in answer) resolve(answer.series);
      else reject(new Error(`${which} ${answer && 'error' in answer ? `failed: ${answer.error}` : `ended (${signal ?? `exit code ${code}`}) without a result`}`));
    });
    proc.send({ spec, options: plain });
  });
}

/** One series in this process: scale-child.ts runs it. */
export async function measureSeries(spec: ScaleSeriesSpec, options: ScaleOptions): Promise<ScaleSeries> {
  const runtime = createRuntime({ faultInjection: true });
  try {
    const before = sampleTreePss();
    const names = Array.from({ length: spec.devices }, (_, i) => `bench-scale-${spec.domain}-${i}`);
    const disks: BlockDevice[] = [];
    const attachMs: number[] = [];
    const start = performance.now();
    for (const [i, name] of names.entries()) {
      const t = performance.now();
      const disk = await runtime.attachBlock({
        name, driver: 'ram', domain: spec.domain, recovery: 'shadow',
        warmStandby: spec.warmStandby, ...(spec.groupSize ? { domainGroup: groupOf(spec, i) } : {}),
        config: { sizeBytes: options.sizeBytes }, restart: benchRestartPolicy,
      });
      await disk.open();
      attachMs.push(performance.now() - t);
      disks.push(disk);
    }
    const attached = performance.now();
    if (spec.warmStandby) await deadline(Promise.all(names.map((n) => runtime.standbyReady(n))), 'every standby to load');
    if (spec.groupSize) await deadline(sparesBooted(runtime), 'every group\'s spare thread to boot');
    const standbyWaitMs = performance.now() - attached;
    const fill = new Uint8Array(options.sizeBytes).fill(0xa5);
    for (const disk of disks) await disk.write(0, fill);
    const after = sampleTreePss();
    options.progress?.(`scale: ${spec.devices} ${spec.domain}: aggregate reads`);
    const readRounds = await aggregateReads(disks, options);
    const readsPerSecond = quantile(readRounds.map((r) => r.all), 0.5);
    options.progress?.(`scale: ${spec.devices} ${spec.domain}: ${options.faults} faults`);
    const faults = await injectFaults(runtime, spec, names, disks, options);
    return {
      ...spec, before, after, attachMs, attachWallMs: attached - start, standbyWaitMs, readsPerSecond, readRounds, ...faults,
    };
  } finally {
    await runtime.close();
  }
}

/**
 * Rounds of QD `queueDepth` 4 KiB random reads; in each, every disk at once and (when there are
 * more than `baselineDevices`) the first `baselineDevices` alone, in a random order.
 */
async function aggregateReads(disks: BlockDevice[], options: ScaleOptions): Promise<ReadRound[]> {
  const random = seededRandom(options.seed);
  const baseline = disks.length > options.baselineDevices ? disks.slice(0, options.baselineDevices) : undefined;
  const rounds: ReadRound[] = [];
  for (let r = 0; r < options.readRounds; r++) {
    if (!baseline) {
      rounds.push({ all: await readWindow(disks, options, random) });
      continue;
    }
    const baselineFirst = random() < 0.5;
    const first = await readWindow(baselineFirst ? baseline : disks, options, random);
    const second = await readWindow(baselineFirst ? disks : baseline, options, random);
    const [few, all] = baselineFirst ? [first, second] : [second, first];
    rounds.push({ all, baseline: { devices: baseline.length, readsPerSecond: few } });
  }
  return rounds;
}

/** QD `queueDepth` 4 KiB random reads on every one of `disks` at once; completions in the window per second. */
async function readWindow(disks: BlockDevice[], options: ScaleOptions, random: () => number): Promise<number> {
  const blocks = Math.floor(options.sizeBytes / BLOCK);
  let running = true;
  let completed = 0;
  const lane = async (disk: BlockDevice) => {
    const into = new Uint8Array(BLOCK);
    while (running) {
      await disk.read(Math.floor(random() * blocks) * BLOCK, BLOCK, into);
      completed++;
    }
  };
  const lanes = disks.flatMap((disk) => Array.from({ length: options.queueDepth }, () => lane(disk)));
  const window = new Promise<number>((resolve) => {
    setTimeout(() => {
      const first = completed;
      const opened = performance.now();
      setTimeout(() => {
        const rate = (completed - first) / ((performance.now() - opened) / 1000);
        running = false;
        resolve(rate);
      }, options.throughputMs);
    }, options.warmupMs);
  });
  const rate = await window;
  await Promise.all(lanes);
  return rate;
}

/** Faults one at a time into random devices, each under a load on that device, each recovered
 *  (and its standby loaded again) before the next. */
async function injectFaults(runtime: Runtime, spec: ScaleSeriesSpec, names: string[], disks: BlockDevice[],
  options: ScaleOptions): Promise<Pick<ScaleSeries, 'recoveries' | 'ioErrors' | 'lastError'>> {
  const random = seededRandom(options.seed + 1);
  const result: Pick<ScaleSeries, 'recoveries' | 'ioErrors' | 'lastError'> = { recoveries: [], ioErrors: 0, lastError: undefined };
  // A group's recoveries are awaited together, each with its own listeners on the manager.
  if (spec.groupSize) runtime.manager.setMaxListeners(Math.max(runtime.manager.getMaxListeners(), spec.groupSize + 10));
  for (let i = 0; i < options.faults; i++) {
    const k = Math.floor(random() * names.length);
    const load = new BackgroundLoad(disks[k]!, options.sizeBytes);
    load.start(2);
    try {
      await load.completions(2);
      // In a domain group every device of the struck one's group recovers: each one counts.
      const members = spec.groupSize ? names.filter((_, j) => groupOf(spec, j) === groupOf(spec, k)) : [names[k]!];
      const recovered = members.map((name) => nextRecovery(runtime, name));
      runtime.inject(names[k]!, { kind: options.kinds[i % options.kinds.length]! });
      result.recoveries.push(...await Promise.all(recovered));
      await load.completions(2); // the device answers again
      if (spec.warmStandby) await deadline(Promise.all(members.map((n) => runtime.standbyReady(n))), `${names[k]}'s standby to load again`);
      if (spec.groupSize) await deadline(sparesBooted(runtime), `${names[k]}'s group's spare thread to boot again`);
    } finally {
      await load.stop();
      result.ioErrors += load.errors;
      if (load.lastError !== undefined) result.lastError = String(load.lastError);
    }
  }
  return result;
}

const groupOf = (spec: ScaleSeriesSpec, index: number): string => `bench-scale-group-${Math.floor(index / spec.groupSize!)}`;

/** Resolves once every domain group has its spare thread started and its drivers imported. */
async function sparesBooted(runtime: Runtime): Promise<void> {
  while (!runtime.manager.domainGroups().every((g) => g.spareBooted)) await new Promise((resolve) => setTimeout(resolve, 2));
}

async function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scale: waited ${DEADLINE_MS} ms for ${what}`)), DEADLINE_MS);
  });
  try { return await Promise.race([promise, expired]); } finally { clearTimeout(timer); }
}
