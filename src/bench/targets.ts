/**
 * The issue's performance targets, checked against one run's measurements. Each verdict says
 * what was measured and, when the target is missed, where the measurements put the cost.
 */
import type { RecoveryPhase } from '../observe/channels.js';
import type { ConfigurationId } from './configurations.js';
import type { BenchResult } from './index.js';
import { groupsOf } from './recovery-times.js';
import { geometricMean, median } from './stats.js';
import { addedMicroseconds, microsecondsPerRequest, ratio, type Cell } from './throughput.js';

export interface TargetVerdict {
  target: string;
  met: boolean;
  measured: string;
  /** Where the time goes, when the target is missed. */
  why: string | undefined;
}

export function evaluateTargets(result: BenchResult): TargetVerdict[] {
  return [isolationTarget(result), loggingTarget(result), recoveryTarget(result)];
}

const pct = (r: number) => `${(r * 100).toFixed(0)}%`;
const us = (v: number) => `${v.toFixed(1)} µs`;
export const cellName = (c: Cell) =>
  `${c.medium} ${c.workload.op} QD${c.queueDepth}${c.workload.blockBytes === 64 * 1024 ? '' : ` ${c.workload.blockBytes / 1024} KiB`}`;

function isolationTarget(result: BenchResult): TargetVerdict {
  const cells = result.throughput.cells.filter((c) => c.workload.blockBytes === 64 * 1024);
  const ratios = cells.map((c) => ({ cell: c, r: ratio(c, 'c-worker', 'a').median }));
  const met = ratios.every(({ r }) => r >= 0.97);
  const qd1 = cells.filter((c) => c.queueDepth === 1);
  const cost = (slower: ConfigurationId, faster: ConfigurationId) =>
    median(qd1.map((c) => addedMicroseconds(c, slower, faster)));
  const perRequest = median(qd1.map((c) => microsecondsPerRequest(c, median(c.samples.a))));
  return {
    target: '(c) ≥ 97% of (a) for 64 KiB requests in a worker domain (the paper: 97–100%)',
    met,
    measured: `c/a ${ratios.map(({ cell, r }) => `${cellName(cell)} ${pct(r)}`).join(', ')}`,
    why: met ? undefined
      : `at queue depth 1 a 64 KiB request takes ${us(perRequest)} in-process (a); the worker adds ` +
        `${us(cost('c-worker', 'a'))} to it (median over the QD1 cells): ${us(cost('b-worker', 'a'))} for ` +
        `isolation alone (b − a) and ${us(cost('c-worker', 'b-worker'))} for the shadow (c − b). The paper's ` +
        'devices took milliseconds per request and hid the crossing; device memory and the page cache ' +
        'answer in microseconds, so here the crossing is most of the cost.',
  };
}

function loggingTarget(result: BenchResult): TargetVerdict {
  const cells = result.throughput.cells;
  const byDomain = (['worker', 'process'] as const).map((domain) => {
    const per = cells.map((c) => ratio(c, `c-${domain}`, `b-${domain}`));
    return { domain, mean: geometricMean(per.map((r) => r.median)), width: median(per.map((r) => r.p75 - r.p25)) };
  });
  const inProcess = geometricMean(cells.map((c) => ratio(c, 's', 'a').median));
  const shadowUs = median(cells.filter((c) => c.queueDepth === 1).map((c) => addedMicroseconds(c, 's', 'a')));
  const met = byDomain.every((d) => d.mean >= 0.99);
  const noisy = byDomain.some((d) => d.width > 0.02);
  return {
    target: 'shadow logging costs ≤ 1% against restart-only isolation: (c) ≥ 99% of (b)',
    met,
    measured: byDomain.map((d) => `c/b ${d.domain} ${pct(d.mean)} (geometric mean over cells; ` +
      `per-round ratios spread ±${(d.width * 50).toFixed(0)} points)`).join('; ') +
      `; without isolation s/a ${pct(inProcess)}, i.e. the shadow adds ${us(shadowUs)} per request at QD1`,
    why: met ? undefined
      : `the shadow's own bookkeeping, measured without a domain crossing, costs ${us(shadowUs)} per request ` +
        `(s − a at QD1)` + (noisy ? '; the per-round spread of c/b is wider than the 1% being tested, so ' +
        'the isolated ratios cannot resolve 1% on this machine in this run' : ''),
  };
}

const phaseMeaning: Record<RecoveryPhase, string> = {
  stop: 'waiting for the failed domain to be gone',
  release: 'releasing what the driver held',
  backoff: 'the restart policy\'s delay',
  restart: 'getting a domain with the driver loaded',
  reinit: 'the new driver\'s init and registration',
  replay: 'replaying open objects and settings',
  resubmit: 'resubmitting requests in flight',
  resume: 'reopening the taps (and starting the next standby)',
};

function recoveryTarget(result: BenchResult): TargetVerdict {
  const series = result.recovery.find((s) => s.domain === 'worker' && s.warmStandby);
  if (!series || series.events.length === 0) {
    return { target: 'recovery p99 ≤ 10 ms with a warm standby worker', met: false, measured: 'no recoveries measured', why: undefined };
  }
  const groups = groupsOf(series);
  const all = groups[0]!;
  const met = all.totalMs.p99 <= 10;
  const phases = (Object.entries(all.phases) as [RecoveryPhase, typeof all.totalMs][])
    .filter(([, s]) => s.p99 > 0.5).sort((x, y) => y[1].p99 - x[1].p99);
  return {
    target: 'recovery p99 ≤ 10 ms with a warm standby worker',
    met,
    measured: `p99 ${all.totalMs.p99.toFixed(1)} ms over ${all.totalMs.n} faults` +
      groups.slice(1).map((g) => `; ${g.cause}: p50 ${g.totalMs.p50.toFixed(1)}, p99 ${g.totalMs.p99.toFixed(1)} ms`).join('') +
      `; the application's longest wait p99 ${all.longestWaitMs.p99.toFixed(1)} ms (includes detection)`,
    why: met ? undefined
      : `the phases with the largest p99: ${phases.slice(0, 3).map(([name, s]) =>
        `${name} ${s.p99.toFixed(1)} ms (${phaseMeaning[name]}; p50 ${s.p50.toFixed(1)})`).join(', ')}`,
  };
}
