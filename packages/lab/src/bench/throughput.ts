/**
 * The throughput matrix: every workload at every queue depth against every configuration, in
 * interleaved rounds (a, b, c, a, b, c, ...) so that machine noise hits all configurations
 * alike. Within a round each row runs the configurations in a fresh random order, so none
 * keeps running right after another and paying for its garbage. (A forced full collection
 * before each run was tried and dropped: it resets V8's external-memory limits, and the
 * collections that follow in the first ~150 ms of a run slowed whichever configuration
 * allocated most, the in-process one at queue depth 32, by up to 3x.) Ratios are taken per
 * round, between runs made a second apart, and reduced to their median.
 */
import { createRuntime } from 'shadow-drivers';
import { queueDepths, runWorkload, throughput, workloads, type Workload } from './block-workloads.js';
import { attachDisks, configurations, createImage, type ConfigurationId, type DiskSet, type MediumKind } from './configurations.js';
import { median, quantile, seededRandom, shuffled, yieldToEventLoop } from './stats.js';

export interface ThroughputOptions {
  rounds: number;
  /** Time each configuration runs each cell, per round. */
  durationMs: number;
  /** Time each configuration runs each cell once before measuring (not recorded). */
  warmupMs: number;
  ramBytes: number;
  /** Size of the `file` driver's image; 0 leaves the `file` medium out. */
  fileBytes: number;
  seed: number;
  progress?(message: string): void;
}

/** One row of the report: a workload at a queue depth on a medium, in every configuration. */
export interface Cell {
  medium: MediumKind;
  workload: Workload;
  queueDepth: number;
  /** Throughput (the workload's unit) per round, per configuration. */
  samples: Record<ConfigurationId, number[]>;
}

export interface ThroughputResult {
  options: Omit<ThroughputOptions, 'progress'>;
  cells: Cell[];
}

/** The `file` medium runs the 64 KiB sequential workloads (its device time is the page cache). */
const fileWorkloads = workloads.filter((w) => w.blockBytes === 64 * 1024);

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { progress, ...recorded } = options;
  const runtime = createRuntime();
  const image = options.fileBytes > 0 ? createImage(options.fileBytes) : undefined;
  try {
    const sets: DiskSet[] = [await attachDisks(runtime, 'ram', options.ramBytes)];
    if (image) sets.push(await attachDisks(runtime, 'file', options.fileBytes, image.path));
    const cells = sets.flatMap((set) => cellsOf(set.medium));
    progress?.(`throughput: warm-up (${cells.length} cells x ${configurations.length} configurations)`);
    await runRound(sets, cells, 0, options.warmupMs, options);
    for (let round = 0; round < options.rounds; round++) {
      progress?.(`throughput: round ${round + 1} of ${options.rounds}`);
      await runRound(sets, cells, round, options.durationMs, options, true);
    }
    return { options: recorded, cells };
  } finally {
    await runtime.close();
    image?.remove();
  }
}

function cellsOf(medium: MediumKind): Cell[] {
  const list = medium === 'ram' ? workloads : fileWorkloads;
  return list.flatMap((workload) => queueDepths.map((queueDepth) => ({
    medium, workload, queueDepth,
    samples: Object.fromEntries(configurations.map((c) => [c.id, [] as number[]])) as Cell['samples'],
  })));
}

async function runRound(sets: DiskSet[], cells: Cell[], round: number, durationMs: number,
  options: ThroughputOptions, record = false): Promise<void> {
  const random = seededRandom(options.seed * 1000 + round);
  for (const cell of cells) {
    const set = sets.find((s) => s.medium === cell.medium)!;
    for (const configuration of shuffled(configurations, random)) {
      const measurement = await runWorkload(set.disks.get(configuration.id)!, cell.workload, cell.queueDepth,
        { durationMs, sizeBytes: set.sizeBytes, seed: options.seed + round });
      if (record) cell.samples[configuration.id].push(throughput(measurement, cell.workload.unit));
      // An in-process driver answers in microtasks only: let heartbeats and timers run.
      await yieldToEventLoop();
    }
  }
}

/** Per-round ratios of two configurations in one cell, with their median and quartiles. */
export interface Ratio {
  p25: number;
  median: number;
  p75: number;
}

export function ratio(cell: Cell, numerator: ConfigurationId, denominator: ConfigurationId): Ratio {
  const top = cell.samples[numerator];
  const bottom = cell.samples[denominator];
  const per = top.map((value, i) => value / bottom[i]!).filter(Number.isFinite);
  return { p25: quantile(per, 0.25), median: median(per), p75: quantile(per, 0.75) };
}

/**
 * Microseconds each request costs in `slower` beyond `faster` (from the inverse throughput:
 * the latency at queue depth 1, the amortized cost at deeper queues), per round, median.
 */
export function addedMicroseconds(cell: Cell, slower: ConfigurationId, faster: ConfigurationId): number {
  const b = cell.samples[faster];
  return median(cell.samples[slower].map((value, i) =>
    microsecondsPerRequest(cell, value) - microsecondsPerRequest(cell, b[i]!)));
}

/** A throughput sample of the cell's workload as microseconds per request. */
export function microsecondsPerRequest(cell: Cell, value: number): number {
  return cell.workload.unit === 'IOPS' ? 1e6 / value : cell.workload.blockBytes / value;
}
