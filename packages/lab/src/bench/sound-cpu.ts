/**
 * CPU cost of playing 48 kHz stereo in real time on the virtual card, in the paper's
 * configurations: (a) in-process, (b) isolated restart-only and (c) isolated + shadow, worker
 * and process domains, and the card fed with no runtime at all (its own cost, the floor).
 *
 * Each measurement starts a fresh card and runtime with the one device (no idle domain of
 * another configuration heartbeats meanwhile), plays for a warm-up, then for `durationMs`.
 * Counted: process.cpuUsage() of the kernel's process (every thread: the kernel, the shadow,
 * a worker domain, the player and the card, whose clock runs in this process too) plus, for a
 * process domain, the child's CPU time (the sum over its threads of /proc/<pid>/task/<tid>/
 * schedstat). Reported as a percentage of one core, with the crossings per second (the
 * stream's writes and periodElapsed upcalls). Rounds are interleaved, the order shuffled each
 * round; differences to (a) are taken per round (machine noise hits both alike).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRuntime } from 'shadow-drivers';
import { VirtualSoundCard } from 'shadow-drivers';
import { benchRestartPolicy, configurations, type ConfigurationId } from './configurations.js';
import { BareFeeder, Player, streamParams, type StreamCounts } from './sound-stream.js';
import { median, quantile, seededRandom, shuffled } from './stats.js';

/** The card fed directly (no runtime, no driver), then the paper's configurations. */
export type SoundCpuId = 'card' | Exclude<ConfigurationId, 's'>;

export const soundCpuIds: readonly SoundCpuId[] = ['card', 'a', 'b-worker', 'c-worker', 'b-process', 'c-process'];

export const soundCpuLabel = (id: SoundCpuId): string =>
  (id === 'card' ? 'card alone (no runtime)' : configurations.find((c) => c.id === id)!.label);

export interface SoundCpuOptions {
  rounds: number;
  /** Measured playing time per configuration and round. */
  durationMs: number;
  /** Playing time before measuring (startup, compilation). */
  warmupMs: number;
  /** Period sizes in frames, one row each: smaller periods mean more writes per second. */
  periodFrames: number[];
  seed: number;
  progress?(message: string): void;
}

export interface SoundCpuSample {
  /** CPU time of the kernel's process, all threads, as % of one core. */
  hostPct: number;
  /** CPU time of a process domain's child, % of one core (0 for other configurations). */
  childPct: number;
  /** Writes and periodElapsed upcalls per second (for the card alone: messages it exchanged). */
  writesPerSecond: number;
  periodsPerSecond: number;
}

export interface SoundCpuCell {
  periodFrames: number;
  samples: Record<SoundCpuId, SoundCpuSample[]>;
}

export interface SoundCpuResult {
  options: Omit<SoundCpuOptions, 'progress'>;
  cells: SoundCpuCell[];
}

export const totalPct = (s: SoundCpuSample): number => s.hostPct + s.childPct;

/** Nanoseconds of CPU a process has used, all threads (those alive now). */
function processCpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* the thread ended meanwhile */ }
  }
  return total;
}

async function measureOne(id: SoundCpuId, periodFrames: number, options: SoundCpuOptions): Promise<SoundCpuSample> {
  const params = streamParams(periodFrames);
  const card = await VirtualSoundCard.create();
  const runtime = id === 'card' ? undefined : createRuntime();
  let stream: (StreamCounts & { stop(): Promise<void> | void }) | undefined;
  try {
    let pid: number | undefined;
    if (runtime) {
      const c = configurations.find((x) => x.id === id)!;
      const name = `bench-sound-${id}`;
      const sound = await runtime.attachSound({
        name, driver: 'virtual', domain: c.domain, recovery: c.recovery, config: { socket: card.socketPath }, restart: benchRestartPolicy,
      });
      await sound.open('playback');
      await sound.configure(params);
      pid = runtime.status(name)?.pid;
      stream = new Player(sound, params);
    } else {
      stream = await BareFeeder.start(card, params);
    }
    await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
    const start = { at: performance.now(), host: process.cpuUsage(), child: pid ? processCpuNs(pid) : 0, writes: stream.writes, periods: stream.periods };
    await new Promise((resolve) => setTimeout(resolve, options.durationMs));
    const host = process.cpuUsage(start.host);
    const child = pid ? processCpuNs(pid) - start.child : 0;
    const seconds = (performance.now() - start.at) / 1000;
    if (stream instanceof Player && stream.errors > 0) throw new Error(`sound bench ${id}: a write failed: ${String(stream.lastError)}`);
    return {
      hostPct: ((host.user + host.system) / 1e6 / seconds) * 100,
      childPct: (child / 1e9 / seconds) * 100,
      writesPerSecond: (stream.writes - start.writes) / seconds,
      periodsPerSecond: (stream.periods - start.periods) / seconds,
    };
  } finally {
    await stream?.stop();
    await runtime?.close();
    await card.close();
  }
}

export async function measureSoundCpu(options: SoundCpuOptions): Promise<SoundCpuResult> {
  const { progress, ...recorded } = options;
  const cells: SoundCpuCell[] = options.periodFrames.map((periodFrames) => ({
    periodFrames, samples: Object.fromEntries(soundCpuIds.map((id) => [id, [] as SoundCpuSample[]])) as SoundCpuCell['samples'],
  }));
  for (let round = 0; round < options.rounds; round++) {
    progress?.(`sound: CPU, round ${round + 1} of ${options.rounds}`);
    const random = seededRandom(options.seed * 1000 + round + 1);
    for (const cell of cells) {
      for (const id of shuffled(soundCpuIds, random)) cell.samples[id].push(await measureOne(id, cell.periodFrames, options));
    }
  }
  return { options: recorded, cells };
}

/** Per-round differences of total CPU, in points of one core: median and quartiles. */
export function cpuIncrease(cell: SoundCpuCell, top: SoundCpuId, bottom: SoundCpuId): { p25: number; median: number; p75: number } {
  const per = cell.samples[top].map((s, i) => totalPct(s) - totalPct(cell.samples[bottom][i]!));
  return { p25: quantile(per, 0.25), median: median(per), p75: quantile(per, 0.75) };
}

/** Crossings per second of a configuration: its writes and upcalls, median over rounds. */
export const callsPerSecond = (cell: SoundCpuCell, id: SoundCpuId): number =>
  median(cell.samples[id].map((s) => s.writesPerSecond + s.periodsPerSecond));
