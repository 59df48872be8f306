/**
 * `shadow-lab campaign`: runs the fault campaign (src/campaign/), writes the report, its results
 * as JSON (plan, command, machine, dates, goals, results) and the recovery-time plot beside it,
 * and exits non-zero when a goal the run covers is missed. `--report-only` runs nothing: it
 * renders every trial in the results file, so the results of several runs (parts rerun under a
 * later commit, say) combine into one report by concatenating their files.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ErrorCodes } from 'shadow-drivers';
import { campaignApps } from '../campaign/apps/index.js';
import { deviceScenarios } from '../campaign/device/index.js';
import { machineInfo } from '../bench/machine.js';
import { readResults, runCampaign } from '../campaign/campaign.js';
import { campaignPlan, trialParts, type TrialPart } from '../campaign/plan.js';
import { writeRecoveryPlot } from '../campaign/plot.js';
import { evaluateGoals, recoveryGroups, renderEvaluation } from '../campaign/report.js';

export interface CampaignCliOptions {
  quick?: boolean; results: string; out?: string; apps?: string; only?: string; mutations?: number; jobs?: number; reportOnly?: boolean;
}

/** The first thing wrong with the options (checked before any trial runs), or undefined. */
export function optionProblem(options: CampaignCliOptions): string | undefined {
  const known = [...Object.keys(campaignApps), ...Object.keys(deviceScenarios)];
  const apps = options.apps?.split(',').map((a) => a.trim());
  const unknown = apps?.filter((a) => !known.includes(a));
  if (apps && (apps.length === 0 || unknown!.length > 0)) return `--apps takes names from ${known.join(', ')}; not ${unknown!.join(', ') || '(none)'}`;
  const only = options.only?.split(',').map((p) => p.trim());
  const badPart = only?.filter((p) => !(trialParts as readonly string[]).includes(p));
  if (only && (only.length === 0 || badPart!.length > 0)) return `--only takes parts from ${trialParts.join(', ')}; not ${badPart!.join(', ') || '(none)'}`;
  for (const [option, file] of [['--results', options.results], ['--out', options.out]] as const) {
    if (file === undefined) continue;
    const dir = dirname(resolve(file));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return `${option}: the directory ${dir} does not exist`;
    if (existsSync(file) && statSync(file).isDirectory()) return `${option}: ${file} is a directory`;
  }
  if (options.reportOnly && !existsSync(options.results)) return `--report-only: no results file ${options.results}`;
  if (options.reportOnly && (options.apps || options.quick || options.mutations !== undefined)) return '--report-only renders the results file as it is: it takes no --apps, --quick or --mutations';
  return undefined;
}

export async function runCampaignCli(options: CampaignCliOptions): Promise<number> {
  const problem = optionProblem(options);
  if (problem) {
    console.error(`shadow-lab campaign: ${problem} (${ErrorCodes.INVALID_ARGUMENT})`);
    return 2;
  }
  const plan = campaignPlan({
    quick: options.quick ?? false,
    ...(options.apps ? { apps: options.apps.split(',').map((a) => a.trim()) } : {}),
    ...(options.mutations !== undefined ? { mutationsPerApp: options.mutations } : {}),
    ...(options.only ? { only: options.only.split(',').map((p) => p.trim() as TrialPart) } : {}),
  });
  const jobs = options.jobs ?? 1;
  const machine = machineInfo();
  // Report only: every trial of the file, in its order; the plan's sizes are not known.
  const results = options.reportOnly ? readResults(options.results)
    : await runCampaign(plan, { resultsFile: options.results, jobs, progress: (line) => console.error(`campaign: ${line}`) });
  const finished = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const goals = evaluateGoals(results, plan.quick);
  const command = ['shadow-lab campaign', options.quick ? '--quick' : '', options.apps ? `--apps ${options.apps}` : '', options.only ? `--only ${options.only}` : '',
    options.mutations !== undefined ? `--mutations ${options.mutations}` : '', jobs !== 1 ? `--jobs ${jobs}` : '',
    options.reportOnly ? `--report-only --results ${basename(options.results)}` : ''].filter(Boolean).join(' ');
  const when = options.reportOnly
    ? `${machine.date.slice(0, 16).replace('T', ' ')} UTC from the ${results.length} trials of ${basename(options.results)}, run earlier (commit ${machine.commit ?? 'unknown'} rendered it)`
    : `${machine.date.slice(0, 16).replace('T', ' ')} UTC (${machine.cores} cores, load ${machine.loadAverage} at the start, commit ${machine.commit ?? 'unknown'})`;
  const base = options.out?.replace(/\.md$/, '');
  const plot = base ? `${base}-recovery.png` : undefined;
  if (plot) await writeRecoveryPlot(plot, recoveryGroups(results), `Recovery time under the shadow (${command})`);
  const report = renderEvaluation(results, goals, command, when,
    { ...(options.reportOnly ? {} : { plan: plan.sizes, jobs }), ...(plot ? { plot: basename(plot) } : {}) });
  if (options.out) {
    writeFileSync(options.out, report);
    writeFileSync(`${base}.json`, JSON.stringify({
      command, started: machine.date, finished, machine,
      ...(options.reportOnly ? {} : { plan: { ...plan.sizes, trials: plan.trials.length, deadlineMs: plan.deadlineMs, jobs } }),
      goals, results,
    }, null, 1));
  } else process.stdout.write(report);
  const missed = goals.filter((g) => g.covered && !g.met);
  for (const g of missed) console.error(`campaign: goal missed: ${g.goal} (${g.measured})`);
  return missed.length === 0 ? 0 : 1;
}
