/**
 * `shadowd campaign`: runs the fault campaign (src/campaign/), writes the report and the
 * results beside it, and exits non-zero when a goal the run covers is missed.
 */
import { writeFileSync } from 'node:fs';
import { runCampaign } from '../campaign/campaign.js';
import { campaignPlan } from '../campaign/plan.js';
import { evaluateGoals, renderEvaluation } from '../campaign/report.js';

export interface CampaignCliOptions { quick?: boolean; results: string; out?: string; apps?: string; mutations?: string }

export async function runCampaignCli(options: CampaignCliOptions): Promise<number> {
  const plan = campaignPlan({
    quick: options.quick ?? false,
    ...(options.apps ? { apps: options.apps.split(',') } : {}),
    ...(options.mutations ? { mutationsPerApp: Number(options.mutations) } : {}),
  });
  const results = await runCampaign(plan, { resultsFile: options.results, progress: (line) => console.error(`campaign: ${line}`) });
  const goals = evaluateGoals(results, plan.quick);
  const command = ['shadowd campaign', options.quick ? '--quick' : '', options.apps ? `--apps ${options.apps}` : '',
    options.mutations ? `--mutations ${options.mutations}` : ''].filter(Boolean).join(' ');
  const report = renderEvaluation(results, goals, command, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
  if (options.out) {
    writeFileSync(options.out, report);
    writeFileSync(options.out.replace(/\.md$/, '') + '.json', JSON.stringify({ goals, results }, null, 1));
  } else process.stdout.write(report);
  const missed = goals.filter((g) => g.covered && !g.met);
  for (const g of missed) console.error(`campaign: goal missed: ${g.goal} (${g.measured})`);
  return missed.length === 0 ? 0 : 1;
}
