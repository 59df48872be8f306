/**
 * SQLite transactions per second on a shadowed disk against the same disk in-process: the
 * database application's bank (wa-sqlite through the block VFS, synchronous=FULL), one
 * transfer per transaction, each commit a run of writes and flushes through the driver. One
 * disk and one bank per configuration on each medium: `ram` (the flush crosses the domain, the
 * device has nothing to sync) and `file` (the flush is an fdatasync of an image in
 * os.tmpdir(), the cost a real disk adds). Rounds run the configurations in a fresh random
 * order; values are medians over rounds, ratios medians of per-round ratios.
 */
import { Bank } from '../apps/database/bank.js';
import type { BlockDevice } from 'shadow-drivers';
import { createRuntime } from 'shadow-drivers';
import { benchRestartPolicy, configurations, createImage, type ConfigurationId, type MediumKind } from './configurations.js';
import { median, quantile, seededRandom, shuffled, yieldToEventLoop } from './stats.js';

export interface SqliteOptions {
  configurations: ConfigurationId[];
  /** Transfers each configuration runs per round, per medium. */
  transfers: Record<MediumKind, number>;
  /** Transfers each configuration runs once before measuring (not recorded). */
  warmupTransfers: number;
  rounds: number;
  /** Size of each disk (the database and its journal live on it). */
  sizeBytes: number;
  seed: number;
  progress?(message: string): void;
}

export interface SqliteSeries {
  medium: MediumKind;
  id: ConfigurationId;
  label: string;
  /** Committed transactions per second, per round. */
  samples: number[];
}

export interface SqliteResult {
  options: Omit<SqliteOptions, 'progress'>;
  series: SqliteSeries[];
}

const media: MediumKind[] = ['ram', 'file'];

export async function measureSqlite(options: SqliteOptions): Promise<SqliteResult> {
  const { progress, ...recorded } = options;
  const runtime = createRuntime();
  const images: { remove(): void }[] = [];
  const banks: Bank[] = [];
  try {
    const series: SqliteSeries[] = [];
    const lanes: { series: SqliteSeries; bank: Bank; next: number }[] = [];
    for (const medium of media) {
      for (const id of options.configurations) {
        const c = configurations.find((x) => x.id === id)!;
        // Each disk its own image: two banks on one image would overwrite each other.
        const image = medium === 'file' ? createImage(options.sizeBytes) : undefined;
        if (image) images.push(image);
        const disk: BlockDevice = await runtime.attachBlock({
          name: `bench-sqlite-${medium}-${c.id}`, driver: medium, domain: c.domain, recovery: c.recovery,
          config: medium === 'ram' ? { sizeBytes: options.sizeBytes } : { path: image!.path }, restart: benchRestartPolicy,
        });
        await disk.open();
        const bank = await Bank.open(disk);
        banks.push(bank);
        const s: SqliteSeries = { medium, id: c.id, label: c.label, samples: [] };
        series.push(s);
        lanes.push({ series: s, bank, next: 1 });
      }
    }
    const run = async (lane: typeof lanes[number], count: number, seed: number): Promise<number> => {
      const stats = await lane.bank.run(count, seededRandom(seed), lane.next);
      lane.next += count;
      if (stats.failed > 0) {
        throw new Error(`${lane.series.medium} ${lane.series.label}: ${stats.failed} transfers failed: ${JSON.stringify(stats.firstError)}`);
      }
      await yieldToEventLoop();
      return stats.committed / (stats.elapsedMs / 1000);
    };
    progress?.(`sqlite: warm-up (${lanes.length} banks)`);
    for (const lane of lanes) await run(lane, options.warmupTransfers, options.seed);
    for (let round = 0; round < options.rounds; round++) {
      progress?.(`sqlite: round ${round + 1} of ${options.rounds}`);
      const random = seededRandom(options.seed * 1000 + round);
      for (const medium of media) {
        for (const lane of shuffled(lanes.filter((l) => l.series.medium === medium), random)) {
          lane.series.samples.push(await run(lane, options.transfers[medium], options.seed + round + 1));
        }
      }
    }
    return { options: recorded, series };
  } finally {
    await Promise.allSettled(banks.map((b) => b.close()));
    await runtime.close();
    for (const image of images) image.remove();
  }
}

/** Per-round ratios of one series' samples to another's: median and quartiles. */
export function sqliteRatio(top: SqliteSeries, bottom: SqliteSeries): { p25: number; median: number; p75: number } {
  const per = top.samples.map((value, i) => value / bottom.samples[i]!).filter(Number.isFinite);
  return { p25: quantile(per, 0.25), median: median(per), p75: quantile(per, 0.75) };
}
