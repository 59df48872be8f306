/**
 * The live-update section of the benchmark report, and its target: an update's p99 pause below
 * a warm-standby crash recovery's p50 (issue 17), per domain.
 */
import type { UpdatePhase } from 'shadow-drivers';
import { groupsOf } from './recovery-times.js';
import { spread, type Spread } from './stats.js';
import type { UpdatePauseResult, UpdateSeries } from './update-pause.js';

/** The phases an application waits through (the others run while the old driver serves, or after). */
const pausePhases: UpdatePhase[] = ['quiesce', 'write-back', 'carry-state', 'replay', 'resubmit', 'resume'];
const asidePhases: UpdatePhase[] = ['load', 'init', 'replay-ahead', 'stop'];

const f = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)) : '–');

function phaseSpread(series: UpdateSeries, phase: UpdatePhase): Spread {
  return spread(series.phases.map((p) => p[phase] ?? 0));
}

export function updateSection(result: UpdatePauseResult): string {
  const { updates, sizeBytes, settleRequests } = result.options;
  const rows = updates > 0 ? result.updates.map((u) => {
    const recovery = result.recoveries.find((r) => r.domain === u.domain);
    const restart = result.restarts.find((r) => r.domain === u.domain);
    const pause = spread(u.pauseMs);
    const wait = spread(u.longestWaitMs);
    const baseline = spread(u.baselineWaitMs);
    const rec = recovery ? groupsOf(recovery)[0] : undefined;
    const down = spread(restart?.downMs ?? []);
    return `| ${u.domain} | ${pause.n} | ${f(pause.p50)} | ${f(pause.p99)} | ${f(wait.p50)} | ${f(wait.p99)} | ${f(baseline.p50)} | ${f(baseline.p99)} | ` +
      `${f(rec?.totalMs.p50 ?? NaN)} | ${f(rec?.totalMs.p99 ?? NaN)} | ${f(rec?.longestWaitMs.p50 ?? NaN)} | ` +
      `${f(down.p50)} | ${f(down.p99)} | ${u.rolledBack} | ${u.ioErrors + (recovery?.ioErrors ?? 0)} |`;
  }) : [];
  const phaseRows = result.updates.map((u) =>
    `| ${u.domain} | ${[...pausePhases, ...asidePhases].map((p) => { const s = phaseSpread(u, p); return `${f(s.p50)} / ${f(s.p99)}`; }).join(' | ')} |`);
  return [
    `### Live update (shadow, \`ram\` driver, ${updates} updates v1 → v2 → v1 … per domain)`,
    '',
    `A ${sizeBytes / (1024 * 1024)} MiB \`ram\` disk under the recovery section's load (two lanes of 4 KiB reads and writes, ` +
      `1 ms apart); each update starts after ${settleRequests} completed requests. Pause: UpdateSwitchedEvent.pauseMs, from the ` +
      'tap holding new calls to the new driver serving; "longest wait" is the longest an application request waited across ' +
      'the update (from the call to update() until both lanes were answered after the switch), and "without update" the ' +
      'longest wait over windows as long with no update (what this load sees anyway on this machine). Beside it, in the ' +
      'same run: the same number of crash recoveries with a warm standby (exit and throw in ' +
      'turn; RecoveryEvent.totalMs, detection to resume), and what users do without Shadow: stop using the device, detach ' +
      'it, attach the new version (restart-only) and reopen ("restart": the device is unusable throughout, and a `ram` ' +
      'disk\'s contents are lost).',
    '',
    '| domain | updates | pause p50 | pause p99 | longest wait p50 | longest wait p99 | without update p50 | without update p99 | warm-standby recovery p50 | recovery p99 | recovery longest wait p50 | restart p50 | restart p99 | rolled back | app errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Per phase, p50 / p99 (ms); the first six are inside the pause, the last four are not (the new version is loaded, ' +
      'initialised and given the logged state while the old one serves; the old domain is stopped after the resume):',
    '',
    `| domain | ${[...pausePhases, ...asidePhases].join(' | ')} |`,
    `|---|${[...pausePhases, ...asidePhases].map(() => '---:').join('|')}|`,
    ...phaseRows,
    '',
  ].join('\n');
}

/** A target's verdict, as targets.ts reports it (declared here: targets.ts imports this module). */
interface TargetVerdict {
  target: string;
  met: boolean;
  measured: string;
  why: string | undefined;
}

/** Issue 17's goal, per domain: the update's p99 pause below the warm-standby recovery's p50. */
export function updateTargets(result: UpdatePauseResult): TargetVerdict[] {
  return result.updates.map((u) => {
    const target = `live update pause p99 < warm-standby crash recovery p50, ${u.domain} domain`;
    const recovery = result.recoveries.find((r) => r.domain === u.domain);
    const rec = recovery && recovery.events.length > 0 ? groupsOf(recovery)[0] : undefined;
    if (u.pauseMs.length === 0 || !rec) return { target, met: false, measured: 'no updates or recoveries measured', why: undefined };
    const pause = spread(u.pauseMs);
    const met = pause.p99 < rec.totalMs.p50;
    const worst = [...pausePhases].map((p) => [p, phaseSpread(u, p)] as const).sort((x, y) => y[1].p99 - x[1].p99);
    return {
      target,
      met,
      measured: `update pause p50 ${f(pause.p50)}, p99 ${f(pause.p99)} ms over ${pause.n} updates; warm-standby recovery ` +
        `p50 ${f(rec.totalMs.p50)}, p99 ${f(rec.totalMs.p99)} ms over ${rec.totalMs.n} faults`,
      why: met ? undefined : `the pause phases with the largest p99: ${worst.slice(0, 3).map(([p, s]) => `${p} ${f(s.p99)} ms (p50 ${f(s.p50)})`).join(', ')}`,
    };
  });
}
