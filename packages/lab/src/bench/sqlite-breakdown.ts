/**
 * Where a SQLite commit's time goes on a `file` disk: for each configuration, transactions per
 * second, and the calls one commit makes to the disk (writes, flushes) times the mean latency
 * of each as the application sees it. Set against the in-process row, a longer flush with the
 * same fdatasync underneath is crossing cost, not disk cost. Configurations run in turn on one
 * runtime, in interleaved rounds, so a noisy neighbour weighs on all of them alike.
 *
 * Run: `node packages/lab/dist/src/bench/sqlite-breakdown.js [transfers] [rounds]` (default 100, 3).
 */
import { pathToFileURL } from 'node:url';
import { createRuntime, type BlockDevice } from 'shadow-drivers';
import { Bank } from '../apps/database/bank.js';
import { benchRestartPolicy, configurations, createImage, type ConfigurationId } from './configurations.js';
import { median, seededRandom } from './stats.js';

type Method = 'read' | 'write' | 'flush';
const methods: Method[] = ['read', 'write', 'flush'];

interface Lane { id: ConfigurationId; bank: Bank; next: number; txPerSecond: number[]; calls: Record<Method, { n: number; ms: number }>; committed: number }

/** Wraps the disk's calls to count them and add up their latency. */
function timed(disk: BlockDevice, calls: Lane['calls']): void {
  for (const m of methods) {
    const call = (disk[m] as (...a: unknown[]) => Promise<unknown>).bind(disk);
    (disk as unknown as Record<Method, unknown>)[m] = async (...args: unknown[]) => {
      const start = performance.now();
      try {
        return await call(...args);
      } finally {
        calls[m].n++;
        calls[m].ms += performance.now() - start;
      }
    };
  }
}

export async function sqliteBreakdown(transfers: number, rounds: number, ids: ConfigurationId[] = ['a', 'c-worker', 'c-process']): Promise<string> {
  const runtime = createRuntime();
  const images: { remove(): void }[] = [];
  const lanes: Lane[] = [];
  try {
    for (const id of ids) {
      const c = configurations.find((x) => x.id === id)!;
      const image = createImage(16 * 1024 * 1024);
      images.push(image);
      const disk = await runtime.attachBlock({ name: `breakdown-${id}`, driver: 'file', domain: c.domain, recovery: c.recovery,
        config: { path: image.path }, restart: benchRestartPolicy });
      await disk.open();
      const bank = await Bank.open(disk);
      await bank.run(30, seededRandom(1), 1);
      const lane: Lane = { id, bank, next: 31, txPerSecond: [], committed: 0,
        calls: { read: { n: 0, ms: 0 }, write: { n: 0, ms: 0 }, flush: { n: 0, ms: 0 } } };
      timed(disk, lane.calls);
      lanes.push(lane);
    }
    for (let round = 0; round < rounds; round++) {
      for (const lane of lanes) {
        const stats = await lane.bank.run(transfers, seededRandom(round + 2), lane.next);
        lane.next += transfers;
        lane.committed += stats.committed;
        lane.txPerSecond.push(stats.committed / (stats.elapsedMs / 1000));
      }
    }
    const per = (lane: Lane, m: Method) => lane.calls[m].n === 0 ? '–'
      : `${(lane.calls[m].n / lane.committed).toFixed(1)} × ${Math.round((lane.calls[m].ms / lane.calls[m].n) * 1000)} µs`;
    return [
      `| configuration | tx/s (median of ${rounds}) | writes per commit × latency | flushes per commit × latency |`,
      '|---|---:|---:|---:|',
      ...lanes.map((l) => `| ${configurations.find((c) => c.id === l.id)!.label} | ${Math.round(median(l.txPerSecond))} | ${per(l, 'write')} | ${per(l, 'flush')} |`),
    ].join('\n');
  } finally {
    await Promise.allSettled(lanes.map((l) => l.bank.close()));
    await runtime.close();
    for (const image of images) image.remove();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await sqliteBreakdown(Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 3)));
}
