/**
 * fio through the NBD export (its `nbd` engine, libnbd), the workloads issue 19 names: 4 KiB
 * random read and write at queue depth 32, 64 KiB sequential read and write at depth 8, and
 * 4 KiB random read at depth 1 for latency. Run by the nbd section's launcher (never from the
 * kernel's own process), its JSON report written to a file and read back here.
 */
import { readFileSync, rmSync } from 'node:fs';

export interface FioWorkload {
  id: string;
  label: string;
  rw: 'randread' | 'randwrite' | 'read' | 'write';
  blockSize: number;
  depth: number;
}

export const fioWorkloads: readonly FioWorkload[] = [
  { id: 'randread-4k-32', label: '4 KiB random read, QD 32', rw: 'randread', blockSize: 4096, depth: 32 },
  { id: 'randwrite-4k-32', label: '4 KiB random write, QD 32', rw: 'randwrite', blockSize: 4096, depth: 32 },
  { id: 'read-64k-8', label: '64 KiB sequential read, QD 8', rw: 'read', blockSize: 65536, depth: 8 },
  { id: 'write-64k-8', label: '64 KiB sequential write, QD 8', rw: 'write', blockSize: 65536, depth: 8 },
  { id: 'randread-4k-1', label: '4 KiB random read, QD 1', rw: 'randread', blockSize: 4096, depth: 1 },
];

export interface FioSample {
  iops: number;
  /** Completion latency, 50th percentile, µs. */
  p50us: number;
}

/** fio's arguments for one workload against `uri`, its report to `output`. */
export function fioArgs(workload: FioWorkload, uri: string, seconds: number, output: string): string[] {
  return ['--name=bench', '--ioengine=nbd', `--uri=${uri}`, `--rw=${workload.rw}`, `--bs=${workload.blockSize}`,
    `--iodepth=${workload.depth}`, `--runtime=${Math.max(1, Math.round(seconds * 1000))}ms`, '--time_based', '--output-format=json', `--output=${output}`];
}

/** The sample in fio's JSON report (and the report removed); throws on a report without one. */
export function readFioReport(workload: FioWorkload, output: string): FioSample {
  const report = JSON.parse(readFileSync(output, 'utf8')) as {
    jobs: { read: FioSide; write: FioSide }[];
  };
  rmSync(output, { force: true });
  const job = report.jobs[0];
  const side = job?.[workload.rw.endsWith('read') ? 'read' : 'write'];
  if (!side || !(side.iops > 0)) throw new Error(`fio ${workload.id}: no ${workload.rw} in its report`);
  return { iops: side.iops, p50us: (side.clat_ns?.percentile?.['50.000000'] ?? Number.NaN) / 1000 };
}

interface FioSide { iops: number; clat_ns?: { percentile?: Record<string, number> } }
