/**
 * The block workloads: what an application does to a disk, run for a fixed time with a fixed
 * number of requests in flight (queue depth). The same workload runs unchanged against every
 * configuration; only the device object behind it differs.
 */
import type { BlockDevice } from 'shadow-drivers';
import { seededRandom } from './stats.js';

export interface Workload {
  id: string;
  label: string;
  op: 'read' | 'write';
  blockBytes: number;
  pattern: 'sequential' | 'random';
  /** What the report shows: bandwidth for large requests, request rate for small ones. */
  unit: 'MB/s' | 'IOPS';
}

export const workloads: readonly Workload[] = [
  { id: 'seq-read-64k', label: '64 KiB sequential read', op: 'read', blockBytes: 64 * 1024, pattern: 'sequential', unit: 'MB/s' },
  { id: 'seq-write-64k', label: '64 KiB sequential write', op: 'write', blockBytes: 64 * 1024, pattern: 'sequential', unit: 'MB/s' },
  { id: 'rand-read-4k', label: '4 KiB random read', op: 'read', blockBytes: 4 * 1024, pattern: 'random', unit: 'IOPS' },
];

export const queueDepths: readonly number[] = [1, 32];

/** One timed run of one workload on one device. */
export interface Measurement {
  ops: number;
  bytes: number;
  seconds: number;
}

export function throughput(m: Measurement, unit: Workload['unit']): number {
  return unit === 'MB/s' ? m.bytes / m.seconds / 1e6 : m.ops / m.seconds;
}

export interface RunOptions {
  /** Lanes issue requests until this much time has passed; requests in flight then finish. */
  durationMs: number;
  /** The device's size: sequential runs wrap around, random offsets stay below it. */
  sizeBytes: number;
  /** Same seed, same offsets: every configuration reads the same blocks. */
  seed: number;
}

/**
 * Runs `queueDepth` lanes, each issuing its next request as soon as its last one completed.
 * Sequential lanes share one cursor, so the device sees one stream with `queueDepth` requests
 * in flight. A failed request fails the run: the benchmark measures working configurations.
 */
export async function runWorkload(disk: BlockDevice, workload: Workload, queueDepth: number,
  options: RunOptions): Promise<Measurement> {
  const next = offsets(workload, options);
  const payload = new Uint8Array(workload.blockBytes).map((_, i) => (i * 31 + 7) & 0xff);
  let ops = 0;
  const start = performance.now();
  const end = start + options.durationMs;
  const lane = async (): Promise<void> => {
    // Each lane reads into its own buffer, as an application streaming data would (fio does).
    const buffer = new Uint8Array(workload.blockBytes);
    // At least one request per lane: a stalled machine must not turn a short run into a zero.
    do {
      const offset = next();
      if (workload.op === 'read') await disk.read(offset, workload.blockBytes, buffer);
      else await disk.write(offset, payload);
      ops++;
    } while (performance.now() < end);
  };
  await Promise.all(Array.from({ length: queueDepth }, lane));
  const seconds = (performance.now() - start) / 1000;
  return { ops, bytes: ops * workload.blockBytes, seconds };
}

function offsets(workload: Workload, options: RunOptions): () => number {
  const blocks = Math.floor(options.sizeBytes / workload.blockBytes);
  if (blocks < 1) throw new Error(`a ${options.sizeBytes}-byte device cannot hold a ${workload.blockBytes}-byte request`);
  if (workload.pattern === 'random') {
    const random = seededRandom(options.seed);
    return () => Math.floor(random() * blocks) * workload.blockBytes;
  }
  let cursor = 0;
  return () => {
    const offset = cursor * workload.blockBytes;
    cursor = (cursor + 1) % blocks;
    return offset;
  };
}
