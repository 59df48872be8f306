/**
 * `shadow-lab campaign`: runs the fault campaign (src/campaign/), writes the report, its results
 * as JSON (plan, command, machine, dates, goals, results) and the recovery-time plot beside it,
 * and exits non-zero when a goal the run covers is missed.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { machineInfo } from '../bench/machine.js';
import { runCampaign } from '../campaign/campaign.js';
import { campaignPlan } from '../campaign/plan.js';
import { writeRecoveryPlot } from '../campaign/plot.js';
import { evaluateGoals, recoveryGroups, renderEvaluation } from '../campaign/report.js';

export interface CampaignCliOptions { quick?: boolean; results: string; out?: string; apps?: string; mutations?: string; jobs?: string }

export async function runCampaignCli(options: CampaignCliOptions): Promise<number> {
  const plan = campaignPlan({
    quick: options.quick ?? false,
    ...(options.apps ? { apps: options.apps.split(',') } : {}),
    ...(options.mutations ? { mutationsPerApp: Number(options.mutations) } : {}),
  });
  const jobs = Number(options.jobs ?? 1);
  const machine = machineInfo();
  const results = await runCampaign(plan, { resultsFile: options.results, jobs, progress: (line) => console.error(`campaign: ${line}`) });
  const finished = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const goals = evaluateGoals(results, plan.quick);
  const command = ['shadow-lab campaign', options.quick ? '--quick' : '', options.apps ? `--apps ${options.apps}` : '',
    options.mutations ? `--mutations ${options.mutations}` : '', jobs !== 1 ? `--jobs ${jobs}` : ''].filter(Boolean).join(' ');
  const when = `${machine.date.slice(0, 16).replace('T', ' ')} UTC (${machine.cores} cores, load ${machine.loadAverage} at the start, commit ${machine.commit ?? 'unknown'})`;
  const base = options.out?.replace(/\.md$/, '');
  const plot = base ? `${base}-recovery.png` : undefined;
  if (plot) await writeRecoveryPlot(plot, recoveryGroups(results), `Recovery time under the shadow (${command})`);
  const report = renderEvaluation(results, goals, command, when, { plan: plan.sizes, jobs, ...(plot ? { plot: basename(plot) } : {}) });
  if (options.out) {
    writeFileSync(options.out, report);
    writeFileSync(`${base}.json`, JSON.stringify({
      command, started: machine.date, finished, machine, plan: { ...plan.sizes, trials: plan.trials.length, deadlineMs: plan.deadlineMs, jobs },
      goals, results,
    }, null, 1));
  } else process.stdout.write(report);
  const missed = goals.filter((g) => g.covered && !g.met);
  for (const g of missed) console.error(`campaign: goal missed: ${g.goal} (${g.measured})`);
  return missed.length === 0 ? 0 : 1;
}
