/**
 * The campaign's report: the plan's sizes and the faults injected, the paper-style table
 * (application × configuration, fail-stop faults), the soak trials, the mutation campaign per
 * application with confidence intervals, recovery times per class and fault kind (a table and a
 * plot), the cases the shadow did not recover with their causes, and the goals, each marked met,
 * missed, or not covered by this run. Faults are counted as injected (`faultsOf`), not as trials.
 */
import { quantile } from '../bench/stats.js';
import { allFaultKinds } from 'shadow-drivers';
import { campaignApps } from './apps/index.js';
import { causeOf, causeTable } from './causes.js';
import { deviceSection } from './device/report.js';
import { paperResults, type PaperOutcome } from './paper.js';
import { restartOnlySection } from './restart-only.js';
import { configurationsOrder, type PlanSizes, type TierSizes } from './plan.js';
import type { PlotRow } from './plot.js';
import { faultsOf, isTransientMutation, type Outcome, type TrialResult } from './types.js';

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

export function evaluateGoals(all: TrialResult[], quick: boolean): Goal[] {
  // A trial that could not run here (a tool missing) is evidence for no goal, either way.
  const results = all.filter((r) => r.outcome !== 'not-run');
  const shadowDevice = results.filter((r) => r.spec.fault.type === 'device' && r.spec.configuration === 'shadow');
  const failStop = results.filter((r) => r.spec.fault.type === 'fail-stop');
  const shadowFs = failStop.filter((r) => r.spec.configuration === 'shadow');
  const shadowOk = count(shadowFs, 'ok');
  const patternApps = Object.keys(campaignApps).filter((app) => failStop.some((r) => r.spec.app === app));
  // Native does not run normally (the paper's Native column is crash throughout). Restart-only is
  // Nooks: where the paper's Nooks column says ok (a NIC's applications ride out a restart the
  // agent reconfigured), ours must mostly run normally too; where it says malfunction or crash,
  // ours must mostly not; a row the paper does not have is not judged for restart-only.
  const deviations: string[] = [];
  const patternMisses = patternApps.flatMap((app) => {
    const native = failStop.filter((r) => r.spec.app === app && r.spec.configuration === 'native');
    const restart = failStop.filter((r) => r.spec.app === app && r.spec.configuration === 'restart');
    const nooks = paperResults[app]?.restart;
    const mostlyOk = 2 * count(restart, 'ok') > restart.length;
    const differs = nooks !== undefined && (nooks === 'ok') !== mostlyOk;
    // A named deviation (paper.ts: how our application stands for the paper's) is reported, not a miss.
    if (differs && paperResults[app]?.restartDeviation) deviations.push(`${app} restart (${paperResults[app]!.restartDeviation})`);
    const restartMiss = restart.length === 0 || (differs && !paperResults[app]?.restartDeviation);
    return [
      ...(native.length === 0 || count(native, 'ok') === native.length ? [`${app} native`] : []),
      ...(restartMiss ? [`${app} restart${nooks ? ` (the paper's Nooks: ${nooks})` : ''}`] : []),
    ];
  });
  // The goal is on the paper's method: the fault in the loaded driver, the original reloaded by recovery.
  const mutations = results.filter((r) => isTransientMutation(r.spec));
  const perApp = Object.keys(campaignApps).map((app) => {
    const manifested = mutations.filter((r) => r.spec.app === app && r.outcome !== 'not-manifested');
    return { app, n: manifested.length, ok: count(manifested, 'ok') };
  }).filter((a) => a.n > 0 || mutations.some((r) => r.spec.app === a.app));
  // Covered once an application reached 100 manifested mutants; met only if every application did, each ≥ 99%.
  const mutationCovered = perApp.some((a) => a.n >= 100);
  const shadowAll = results.filter((r) => r.spec.configuration === 'shadow');
  const hostCrashes = shadowAll.filter((r) => r.outcome === 'crash-hang').length;
  const faults = results.reduce((n, r) => n + faultsOf(r), 0);
  const shadowFaults = shadowAll.reduce((n, r) => n + faultsOf(r), 0);
  const soaks = shadowAll.filter((r) => r.spec.fault.type === 'soak');
  const soakOk = count(soaks, 'ok');
  // Committed data: every storage application checks all it committed (checksums, totals, builds, e2fsck).
  const storage = shadowAll.filter((r) => r.spec.fault.type !== 'mutation' && campaignApps[r.spec.app]?.className === 'block');
  const lost = storage.filter((r) => r.outcome !== 'ok');
  // Explained means a cause from the classified list (causes.ts), not just any words.
  const unexplained = shadowAll.filter((r) => r.outcome !== 'ok' && r.outcome !== 'not-manifested' && causeOf(r) === 'other');
  return [
    { goal: 'fail-stop faults: shadow ok in 100% of trials for every application', covered: shadowFs.length > 0,
      met: shadowFs.length > 0 && shadowOk === shadowFs.length, measured: `${shadowOk} of ${shadowFs.length} ok` },
    { goal: 'fail-stop faults: native and restart-only reproduce the paper\'s pattern (native does not run normally; restart-only runs normally where the paper\'s Nooks column says ok, and not where it says malfunction or crash)',
      covered: patternApps.length > 0, met: patternApps.length > 0 && patternMisses.length === 0,
      measured: configurationsOrder.filter((c) => c !== 'shadow').map((c) => {
        const rs = failStop.filter((r) => r.spec.configuration === c);
        return `${c}: ${count(rs, 'ok')} ok, ${count(rs, 'malfunction')} malfunction, ${count(rs, 'crash-hang')} crash/hang of ${rs.length}`;
      }).join('; ') + (patternMisses.length ? `; not as the paper: ${patternMisses.join(', ')}` : '')
        + (deviations.length ? `; named deviations from the paper's Nooks: ${deviations.join('; ')}` : '') },
    { goal: 'mutation faults in the loaded driver (the paper\'s method): shadow ≥ 99% automatic recovery over ≥ 100 manifested faults per application', covered: !quick && mutationCovered,
      met: mutationCovered && perApp.every((a) => a.n >= 100 && a.ok / a.n >= 0.99),
      measured: perApp.map((a) => `${a.app} ${pct(a.ok, a.n)} of ${a.n}`).join(', ') || 'no mutation trials' },
    { goal: 'soak: shadow ok in every soak trial (faults again and again into the running driver)', covered: soaks.length > 0,
      met: soaks.length > 0 && soakOk === soaks.length,
      measured: `${soakOk} of ${soaks.length} ok, ${soaks.reduce((n, r) => n + faultsOf(r), 0)} faults injected` },
    { goal: '≥ 10,000 injected faults with 0 host crashes under the shadow', covered: !quick,
      met: faults >= 10_000 && hostCrashes === 0,
      measured: `${faults} faults injected in ${results.length} trials (${shadowFaults} under the shadow), ${hostCrashes} shadow trials crashed or hung` },
    { goal: '0 lost committed data: every storage trial under the shadow with a fail-stop or soak fault verified all it had committed',
      covered: storage.length > 0, met: storage.length > 0 && lost.length === 0,
      measured: `${storage.length - lost.length} of ${storage.length} verified${lost.length ? ` (not: ${lost.map((r) => r.spec.id).join(', ')})` : ''}` },
    { goal: 'every case the shadow did not recover is explained by a classified cause', covered: shadowAll.length > 0,
      met: unexplained.length === 0, measured: `${shadowAll.filter((r) => r.outcome !== 'ok' && r.outcome !== 'not-manifested').length} not recovered, ${unexplained.length} without a classified cause${unexplained.length ? ` (${unexplained.map((r) => r.spec.id).join(', ')})` : ''}` },
    { goal: 'device-level faults: under the shadow each is handled as its class contract says, in every trial', covered: shadowDevice.length > 0,
      met: shadowDevice.length > 0 && count(shadowDevice, 'ok') === shadowDevice.length, measured: `${count(shadowDevice, 'ok')} of ${shadowDevice.length} ok` },
  ];
}

/** Trials whose application could not run on this machine: named, never counted for or against a goal. */
function notRunLines(results: TrialResult[]): string[] {
  const notRun = results.filter((r) => r.outcome === 'not-run');
  if (notRun.length === 0) return [];
  return ['## Not run', '', `${notRun.length} trial(s) could not run here (a tool or kernel feature missing); no goal counts them:`, '',
    ...[...new Set(notRun.map((r) => `- ${r.spec.app}: ${r.cause}`))], ''];
}

const paperWord: Record<PaperOutcome, string> = { ok: 'ok', malfunction: 'malf.', crash: 'crash' };

/** The operator of a result's mutation ("file:line: operator, what it did"). */
export const operatorOf = (r: TrialResult) => /:\d+: ([a-z-]+),/.exec(r.mutation ?? '')?.[1] ?? 'unknown';

function operatorTable(mutations: TrialResult[]): string[] {
  if (mutations.length === 0) return ['No mutation trials.'];
  const operators = [...new Set(mutations.map(operatorOf))].sort();
  return [
    '| operator | trials | manifested | automatic recovery | malfunction | crash/hang |',
    '|---|---:|---:|---:|---:|---:|',
    ...operators.map((op) => {
      const all = mutations.filter((r) => operatorOf(r) === op);
      const m = all.filter((r) => r.outcome !== 'not-manifested');
      return `| ${op} | ${all.length} | ${m.length} | ${pct(count(m, 'ok'), m.length)} | ${pct(count(m, 'malfunction'), m.length)} | ${pct(count(m, 'crash-hang'), m.length)} |`;
    }),
  ];
}

export interface RenderExtras {
  plan?: PlanSizes;
  /** The recovery plot's path, relative to the report. */
  plot?: string;
  /** Trials run at once. */
  jobs?: number;
}

const classOrder = ['block', 'net', 'sound', 'serial'];

/** Shadow recoveries (fail-stop and soak trials) per device class and injected fault kind. */
export function recoveryGroups(results: TrialResult[]): PlotRow[] {
  const groups = new Map<string, { cls: string; kind: string; ms: number[] }>();
  for (const r of results) {
    if (r.spec.configuration !== 'shadow' || (r.spec.fault.type !== 'fail-stop' && r.spec.fault.type !== 'soak')) continue;
    const cls = campaignApps[r.spec.app]?.className ?? r.spec.app;
    for (const rec of r.recoveries) {
      const kind = rec.fault ?? (r.spec.fault.type === 'fail-stop' ? r.spec.fault.kind : `detected ${rec.cause}`);
      const key = `${cls} ${kind}`;
      const group = groups.get(key) ?? { cls, kind, ms: [] };
      group.ms.push(rec.totalMs);
      groups.set(key, group);
    }
  }
  const rank = (g: { cls: string; kind: string }) => [classOrder.indexOf(g.cls) + 1 || 99, (allFaultKinds as readonly string[]).indexOf(g.kind) + 1 || 99];
  return [...groups.values()].sort((a, b) => {
    const [ca, ka] = rank(a);
    const [cb, kb] = rank(b);
    return ca! - cb! || ka! - kb! || a.kind.localeCompare(b.kind);
  }).map((g) => ({ label: `${g.cls} ${g.kind}`, ms: g.ms }));
}

const seconds = (rs: TrialResult[]) => rs.reduce((n, r) => n + r.elapsedMs, 0) / 1000;
const faultSum = (rs: TrialResult[]) => rs.reduce((n, r) => n + faultsOf(r), 0);

function planSection(results: TrialResult[], plan: PlanSizes | undefined): string[] {
  const parts: [string, TrialResult[]][] = [
    ['fail-stop, one fault per trial', results.filter((r) => r.spec.fault.type === 'fail-stop')],
    ['soak under the shadow', results.filter((r) => r.spec.fault.type === 'soak' && r.spec.configuration === 'shadow')],
    ['soak under restart-only recovery', results.filter((r) => r.spec.fault.type === 'soak' && r.spec.configuration === 'restart')],
    ['mutation, one mutant driver per trial', results.filter((r) => r.spec.fault.type === 'mutation')],
    ['device-level, one device fault per trial', results.filter((r) => r.spec.fault.type === 'device')],
    ['all', results],
  ];
  const rows = parts.map(([name, rs]) => `| ${name} | ${rs.length} | ${faultSum(rs)} | ${(seconds(rs) / 60).toFixed(1)} |`);
  const tier = (name: string, t: TierSizes) => `${name}: fail-stop ${plan!.failStopKinds} fault kinds × ${configurationsOrder.length} ` +
    `configurations × ${t.failStopRepeats} repeat(s); soak ${t.soakShadow} trial(s) under the shadow and ${t.soakRestart} under ` +
    `restart-only recovery, workload × ${t.soakScale}; ${t.transientMutationsPerApp} mutant(s) with the fault in the loaded driver and ${t.mutationsPerApp} in its file; a trial's deadline ${t.deadlineMs / 1000} s.`;
  const sizes = plan ? [
    '',
    `Plan: ${plan.apps} applications and ${plan.deviceScenarios} device-level scenario(s) (× ${plan.deviceRepeats} per configuration); ` +
    `a soak pauses ${plan.soakIntervalMs[0]}–${plan.soakIntervalMs[1]} ms after each recovery.`,
    `- ${tier(`${plan.apps - plan.realToolApps} on virtual devices`, plan.tiers.virtual)}`,
    `- ${tier(`${plan.realToolApps} of real tools`, plan.tiers.realTools)}`,
    ...(plan.classAlone?.apps.length ? [`- ${plan.classAlone.apps.join(', ')} (real tools, the only applications of their class): ` +
      `${plan.classAlone.transientMutationsPerApp} mutant(s) with the fault in the loaded driver and ${plan.classAlone.mutationsPerApp} in its file each.`] : []),
  ] : [];
  return [
    '| part | trials | faults injected | trial time (min) |',
    '|---|---:|---:|---:|',
    ...rows,
    ...sizes,
  ];
}

function soakSection(results: TrialResult[], apps: string[]): string[] {
  const soaks = results.filter((r) => r.spec.fault.type === 'soak');
  if (soaks.length === 0) return ['No soak trials in this run.'];
  const rows: string[] = [];
  for (const app of apps) {
    for (const c of configurationsOrder) {
      const rs = soaks.filter((r) => r.spec.app === app && r.spec.configuration === c);
      if (rs.length === 0) continue;
      const recovered = rs.reduce((n, r) => n + (r.soak?.recovered ?? 0), 0);
      const unrecovered = rs.reduce((n, r) => n + (r.soak?.unrecovered ?? 0), 0);
      rows.push(`| ${app} | ${c} | ${rs.length} | ${count(rs, 'ok')} / ${count(rs, 'malfunction')} / ${count(rs, 'crash-hang')} | ` +
        `${faultSum(rs)} | ${recovered} | ${unrecovered} | ${(faultSum(rs) / Math.max(1e-9, seconds(rs))).toFixed(2)} |`);
    }
  }
  return [
    'After the application\'s first fault, fail-stop faults of random kinds (seeded) again and again into the',
    'same running driver, a random pause after each recovery, until the application\'s workload ends (MINIX 3\'s',
    'reincarnation-server experiments). "No recovery" counts faults no recovery followed within 3 s (a fault',
    'that acts on the next call when none came, or one injected as the workload ended).',
    '',
    '| application | configuration | trials | ok / malf. / crash | faults injected | recoveries | no recovery | faults per trial-second |',
    '|---|---|---:|---|---:|---:|---:|---:|',
    ...rows,
  ];
}

export function renderEvaluation(results: TrialResult[], goals: Goal[], command: string, when: string, extras: RenderExtras = {}): string {
  const apps = Object.values(campaignApps).filter((a) => results.some((r) => r.spec.app === a.name));
  const failStop = results.filter((r) => r.spec.fault.type === 'fail-stop');
  // Trials that could not run here are shown, never folded into another outcome.
  const cell = (rs: TrialResult[]) => (rs.length === 0 ? '–'
    : `${count(rs, 'ok')} ok / ${count(rs, 'malfunction')} malf. / ${count(rs, 'crash-hang')} crash` +
      (count(rs, 'not-run') ? ` / ${count(rs, 'not-run')} not run` : ''));
  const paperCell = (name: string) => {
    const p = paperResults[name];
    return p ? configurationsOrder.map((c) => paperWord[p[c]]).join(' / ') : '–';
  };
  const table = apps.map((a) => `| ${a.name} | ${a.paperRow} | ${configurationsOrder.map((c) =>
    cell(failStop.filter((r) => r.spec.app === a.name && r.spec.configuration === c))).join(' | ')} | ${paperCell(a.name)} |`);
  const byKind = allFaultKinds.filter((k) => failStop.some((r) => r.spec.fault.type === 'fail-stop' && r.spec.fault.kind === k)).map((k) =>
    `| ${k} | ${configurationsOrder.map((c) => cell(failStop.filter((r) => r.spec.configuration === c && r.spec.fault.type === 'fail-stop' && r.spec.fault.kind === k))).join(' | ')} |`);

  // Where our commonest outcome differs from the paper's, cell by cell.
  const ours = (rs: TrialResult[]): PaperOutcome | undefined => {
    const n = { ok: count(rs, 'ok'), malfunction: count(rs, 'malfunction'), crash: count(rs, 'crash-hang') };
    const best = (Object.entries(n) as [PaperOutcome, number][]).sort((a, b) => b[1] - a[1])[0]!;
    return best[1] > 0 ? best[0] : undefined;
  };
  const differences = apps.flatMap((a) => configurationsOrder.flatMap((c) => {
    const paper = paperResults[a.name]?.[c];
    const mine = ours(failStop.filter((r) => r.spec.app === a.name && r.spec.configuration === c));
    return paper && mine && paper !== mine ? [`${a.name} ${c}: ours ${mine}, the paper's ${paper}`] : [];
  }));

  const mutationRows = (mutations: TrialResult[]) => apps.filter((a) => mutations.some((r) => r.spec.app === a.name)).map((a) => {
    const all = mutations.filter((r) => r.spec.app === a.name);
    const m = all.filter((r) => r.outcome !== 'not-manifested');
    const ok = count(m, 'ok');
    const [lo, hi] = wilson(ok, m.length);
    const paper = paperResults[a.name]?.mutationRecovery;
    return `| ${a.name} | ${all.length} | ${all.length - m.length} | ${m.length} | ${pct(ok, m.length)} [${(lo * 100).toFixed(0)}–${(hi * 100).toFixed(0)}%] ` +
      `| ${pct(count(m, 'malfunction'), m.length)} | ${pct(count(m, 'crash-hang'), m.length)} | ${paper === undefined ? '–' : `${Math.round(paper * 100)}%`} |`;
  });
  const mutationTable = (mutations: TrialResult[]) => mutations.length === 0 ? ['No such trials in this run.'] : [
    '| application | trials | not manifested | manifested | automatic recovery [95% CI] | malfunction | crash/hang | paper |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...mutationRows(mutations),
    '',
    'By mutation operator, all applications:',
    '',
    ...operatorTable(mutations),
  ];
  const transient = results.filter((r) => isTransientMutation(r.spec));
  const persistent = results.filter((r) => r.spec.fault.type === 'mutation' && !isTransientMutation(r.spec));

  const groups = recoveryGroups(results);
  const recoveryRows = groups.map((g) => `| ${g.label.replace(' ', ' | ')} | ${g.ms.length} | ${quantile(g.ms, 0.5).toFixed(1)} | ` +
    `${quantile(g.ms, 0.9).toFixed(1)} | ${quantile(g.ms, 0.99).toFixed(1)} | ${Math.max(...g.ms).toFixed(1)} |`);

  const unrecovered = results.filter((r) => r.spec.configuration === 'shadow' && (r.outcome === 'malfunction' || r.outcome === 'crash-hang'));
  return [
    '# Evaluation: fault campaigns',
    '',
    `Produced by \`${command}\` on ${when}. Every trial runs in a process of its own: the application`,
    'attaches its devices in one of three configurations — `native` (the driver in the host process, no',
    'recovery), `restart` (isolated, restart-only recovery), `shadow` (isolated, shadow recovery) — and faults',
    'hit its driver mid-workload; the application\'s own checks decide the outcome: **ok** (finished,',
    'output verified, no errors), **malfunction** (errors or wrong output), **crash/hang** (the host process',
    'died or no result within the deadline), **not manifested** (a mutation under which the driver never',
    'failed and the application saw nothing wrong), **not run** (a tool or kernel feature the trial needs is',
    'missing on this machine: shown as such in its cell and listed, never counted as a malfunction nor for',
    `or against any goal; ${results.filter((r) => r.outcome === 'not-run').length} here). Results, plan and machine: \`evaluation.json\` beside this file.`,
    '',
    ...restartOnlySection(),
    '',
    '## The plan and the faults injected',
    '',
    'Faults are counted as injected: one per fail-stop trial that reached its fault, one per mutant driver',
    'loaded, every fault a soak injected.',
    '',
    ...planSection(results, extras.plan),
    '',
    '## Fail-stop faults (the paper\'s table)',
    '',
    'The paper\'s column: what its application did under Linux-Native / Linux-Nooks (restart-only) / shadow drivers.',
    '',
    '| application | stands for | native | restart | shadow | paper |',
    '|---|---|---|---|---|---|',
    ...table,
    '',
    ...(differences.length ? [`Where our commonest outcome differs from the paper's: ${differences.join('; ')}.`, ''] : []),
    'By fault kind, all applications:',
    '',
    '| fault | native | restart | shadow |',
    '|---|---|---|---|',
    ...byKind,
    '',
    '## Soak: faults again and again into a running driver',
    '',
    ...soakSection(results, apps.map((a) => a.name)),
    '',
    '## Device-level faults (the device fails, not its driver)',
    '',
    ...deviceSection(results),
    '',
    '## Mutation faults (shadow configuration)',
    '',
    'One source-level mutation of the driver\'s code per trial (src/faults/mutation/), chosen by seed; the',
    'same seeds give the same mutants to the applications of a class (they share its drivers). The paper',
    'reports 38–97% of manifested faults recovered automatically, per application (its "paper" column).',
    '',
    '### The fault in the loaded driver (the paper\'s method)',
    '',
    'The mutant is the driver the device starts with; standby and recovery load the original driver',
    '(`DriverSpec.fallbackDriver`), as the paper\'s recovery reloaded a driver whose injected fault was',
    'only in memory. A mutant that fails at start is replaced by the original at once. What the shadow',
    'cannot recover here: faults that never make the driver fail, so that nothing is detected (wrong',
    'answers, errors the driver returns as if from the device, lost writes).',
    '',
    ...mutationTable(transient),
    '',
    '### The fault in the driver\'s file (every restart loads it again)',
    '',
    'A deterministic bug: no restart can cure it, so this measures what the application is told. The',
    'shadow quarantines a request that fails the driver three times (SD_ERR_POISON_REQUEST) and gives',
    'up a driver that fails on every request or never starts, each with an honest error; a case that',
    'hung or crashed the host instead is a runtime bug, listed below.',
    '',
    ...mutationTable(persistent),
    '',
    '## Recovery time under the shadow, by class and fault kind (ms, RecoveryEvent.totalMs)',
    '',
    'Every recovery of the fail-stop and soak trials under the shadow, by the kind of fault injected before it.',
    ...((extras.jobs ?? 1) > 1 ? [`The trials ran ${extras.jobs} at a time: these times include their competition for the machine's cores.`] : []),
    '',
    ...(extras.plot ? [`![Recovery time under the shadow by class and fault kind](${extras.plot})`, ''] : []),
    '| class | fault | recoveries | p50 | p90 | p99 | max |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...recoveryRows,
    '',
    '## Cases the shadow did not recover',
    '',
    ...causeTable(unrecovered),
    ...(unrecovered.length === 0 ? ['None.'] : unrecovered.map((r) =>
      `- \`${r.spec.id}\`: ${r.outcome} (${causeOf(r)})${r.mutation ? ` — mutation ${r.mutation}` : ''} — ${r.cause}`)),
    '',
    ...notRunLines(results),
    '## Goals',
    '',
    ...goals.map((g) => `- **${!g.covered ? 'not covered by this run' : g.met ? 'met' : 'not met'}**: ${g.goal}. Measured: ${g.measured}.`),
    '',
  ].join('\n');
}
