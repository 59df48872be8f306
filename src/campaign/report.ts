/**
 * The campaign's report: the paper-style table (application × configuration, fail-stop
 * faults), the mutation campaign per application with confidence intervals, recovery times
 * per class and fault kind, the cases the shadow did not recover with their causes, and the
 * goals, each marked met, missed, or not covered by this run.
 */
import { quantile } from '../bench/stats.js';
import { campaignApps } from './apps/index.js';
import { configurationsOrder } from './plan.js';
import type { Outcome, TrialResult } from './types.js';

export interface Goal { goal: string; covered: boolean; met: boolean; measured: string }

const count = (rs: TrialResult[], o: Outcome) => rs.filter((r) => r.outcome === o).length;
const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);

/** Wilson score interval for a proportion, 95%. */
export function wilson(successes: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = successes / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function evaluateGoals(results: TrialResult[], quick: boolean): Goal[] {
  const failStop = results.filter((r) => r.spec.fault.type === 'fail-stop');
  const shadowFs = failStop.filter((r) => r.spec.configuration === 'shadow');
  const shadowOk = count(shadowFs, 'ok');
  const patternApps = Object.keys(campaignApps).filter((app) => failStop.some((r) => r.spec.app === app));
  const pattern = patternApps.every((app) => {
    const native = failStop.filter((r) => r.spec.app === app && r.spec.configuration === 'native');
    const restart = failStop.filter((r) => r.spec.app === app && r.spec.configuration === 'restart');
    return native.length > 0 && restart.length > 0 && count(native, 'ok') < native.length && count(restart, 'ok') < restart.length;
  });
  const mutations = results.filter((r) => r.spec.fault.type === 'mutation');
  const perApp = Object.keys(campaignApps).map((app) => {
    const manifested = mutations.filter((r) => r.spec.app === app && r.outcome !== 'not-manifested');
    return { app, n: manifested.length, ok: count(manifested, 'ok') };
  }).filter((a) => a.n > 0 || mutations.some((r) => r.spec.app === a.app));
  const mutationCovered = perApp.length > 0 && perApp.every((a) => a.n >= 100);
  const shadowAll = results.filter((r) => r.spec.configuration === 'shadow');
  const hostCrashes = shadowAll.filter((r) => r.outcome === 'crash-hang').length;
  const unexplained = shadowAll.filter((r) => r.outcome !== 'ok' && r.outcome !== 'not-manifested' && !r.cause.trim());
  return [
    { goal: 'fail-stop faults: shadow ok in 100% of trials for every application', covered: shadowFs.length > 0,
      met: shadowFs.length > 0 && shadowOk === shadowFs.length, measured: `${shadowOk} of ${shadowFs.length} ok` },
    { goal: 'fail-stop faults: native and restart-only reproduce the paper\'s pattern (they do not run normally)', covered: patternApps.length > 0,
      met: pattern, measured: configurationsOrder.filter((c) => c !== 'shadow').map((c) => {
        const rs = failStop.filter((r) => r.spec.configuration === c);
        return `${c}: ${count(rs, 'ok')} ok, ${count(rs, 'malfunction')} malfunction, ${count(rs, 'crash-hang')} crash/hang of ${rs.length}`;
      }).join('; ') },
    { goal: 'mutation faults: shadow ≥ 99% automatic recovery over ≥ 100 manifested faults per application', covered: !quick && mutationCovered,
      met: mutationCovered && perApp.every((a) => a.ok / a.n >= 0.99),
      measured: perApp.map((a) => `${a.app} ${pct(a.ok, a.n)} of ${a.n}`).join(', ') || 'no mutation trials' },
    { goal: '≥ 10,000 injected faults with 0 host crashes under the shadow', covered: !quick && results.length >= 10_000,
      met: results.length >= 10_000 && hostCrashes === 0, measured: `${results.length} trials, ${hostCrashes} shadow trials crashed or hung` },
    { goal: 'every case the shadow did not recover is explained', covered: shadowAll.length > 0,
      met: unexplained.length === 0, measured: `${shadowAll.filter((r) => r.outcome !== 'ok' && r.outcome !== 'not-manifested').length} not recovered, ${unexplained.length} without a cause` },
  ];
}

export function renderEvaluation(results: TrialResult[], goals: Goal[], command: string, when: string): string {
  const apps = Object.values(campaignApps).filter((a) => results.some((r) => r.spec.app === a.name));
  const failStop = results.filter((r) => r.spec.fault.type === 'fail-stop');
  const cell = (rs: TrialResult[]) => (rs.length === 0 ? '–'
    : `${count(rs, 'ok')} ok / ${count(rs, 'malfunction')} malf. / ${count(rs, 'crash-hang')} crash`);
  const table = apps.map((a) => `| ${a.name} | ${a.paperRow} | ${configurationsOrder.map((c) =>
    cell(failStop.filter((r) => r.spec.app === a.name && r.spec.configuration === c))).join(' | ')} |`);

  const mutations = results.filter((r) => r.spec.fault.type === 'mutation');
  const mutationRows = apps.map((a) => {
    const all = mutations.filter((r) => r.spec.app === a.name);
    const m = all.filter((r) => r.outcome !== 'not-manifested');
    const ok = count(m, 'ok');
    const [lo, hi] = wilson(ok, m.length);
    return `| ${a.name} | ${all.length} | ${all.length - m.length} | ${m.length} | ${pct(ok, m.length)} [${(lo * 100).toFixed(0)}–${(hi * 100).toFixed(0)}%] ` +
      `| ${pct(count(m, 'malfunction'), m.length)} | ${pct(count(m, 'crash-hang'), m.length)} |`;
  });

  const recoveryRows: string[] = [];
  for (const a of apps) {
    const byKind = new Map<string, number[]>();
    for (const r of failStop.filter((x) => x.spec.app === a.name && x.spec.configuration === 'shadow')) {
      const kind = r.spec.fault.type === 'fail-stop' ? r.spec.fault.kind : '';
      for (const rec of r.recoveries) byKind.set(kind, [...(byKind.get(kind) ?? []), rec.totalMs]);
    }
    for (const [kind, ms] of byKind) {
      recoveryRows.push(`| ${a.className} | ${a.name} | ${kind} | ${ms.length} | ${quantile(ms, 0.5).toFixed(1)} | ${quantile(ms, 0.99).toFixed(1)} |`);
    }
  }

  const unrecovered = results.filter((r) => r.spec.configuration === 'shadow' && (r.outcome === 'malfunction' || r.outcome === 'crash-hang'));
  return [
    '# Evaluation: fault campaigns',
    '',
    `Produced by \`${command}\` on ${when}. Every trial runs in a process of its own: the application`,
    'attaches its devices in one of three configurations — `native` (the driver in the host process, no',
    'recovery), `restart` (isolated, restart-only recovery), `shadow` (isolated, shadow recovery) — and one',
    'fault hits its driver mid-workload; the application\'s own checks decide the outcome: **ok** (finished,',
    'output verified, no errors), **malfunction** (errors or wrong output), **crash/hang** (the host process',
    'died or no result within the deadline), **not manifested** (a mutation under which the driver never',
    'failed and the application saw nothing wrong).',
    '',
    '## Fail-stop faults (the paper\'s table)',
    '',
    '| application | stands for | native | restart | shadow |',
    '|---|---|---|---|---|',
    ...table,
    '',
    '## Mutation faults (shadow configuration)',
    '',
    'One source-level mutation of the driver\'s code per trial (src/faults/mutation/), chosen by seed. The',
    'paper reports 38–97% of manifested faults recovered automatically, per application.',
    '',
    '| application | trials | not manifested | manifested | automatic recovery [95% CI] | malfunction | crash/hang |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...mutationRows,
    '',
    '## Recovery time under the shadow, by class and fault kind (ms, RecoveryEvent.totalMs)',
    '',
    '| class | application | fault | recoveries | p50 | p99 |',
    '|---|---|---|---:|---:|---:|',
    ...recoveryRows,
    '',
    '## Cases the shadow did not recover',
    '',
    ...(unrecovered.length === 0 ? ['None.'] : unrecovered.map((r) =>
      `- \`${r.spec.id}\`: ${r.outcome}${r.mutation ? ` — mutation ${r.mutation}` : ''} — ${r.cause}`)),
    '',
    '## Goals',
    '',
    ...goals.map((g) => `- **${!g.covered ? 'not covered by this run' : g.met ? 'met' : 'not met'}**: ${g.goal}. Measured: ${g.measured}.`),
    '',
  ].join('\n');
}
