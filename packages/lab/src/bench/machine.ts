/** Where and when a benchmark ran: results from another machine or day are not comparable. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, machine, release, totalmem, type } from 'node:os';
import { fileURLToPath } from 'node:url';

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
  /** The commit measured, `+` when the working tree had changes; undefined outside a checkout. */
  commit: string | undefined;
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
    commit: commit(),
  };
}

function commit(): string | undefined {
  const cwd = fileURLToPath(new URL('../../..', import.meta.url)); // dist/src/bench -> the checkout
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+' : '');
  } catch {
    return undefined;
  }
}
