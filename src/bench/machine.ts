/** Where and when a benchmark ran: results from another machine or day are not comparable. */
import { availableParallelism, cpus, loadavg, machine, release, totalmem, type } from 'node:os';

export interface MachineInfo {
  /** ISO date and time, UTC (what `date -u` shows). */
  date: string;
  /** `uname -srm`. */
  uname: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadAverage: number;
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  return {
    date: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    uname: `${type()} ${release()} ${machine()}`,
    cpu: cpus()[0]?.model.trim() || 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}
