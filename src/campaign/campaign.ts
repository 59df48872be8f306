/**
 * Runs a campaign's trials one after another, appending each result to a JSON-lines file as
 * it finishes; a run started again with the same file skips the trials already there.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { CampaignPlan } from './plan.js';
import { runTrial } from './trial.js';
import type { TrialResult } from './types.js';

export interface CampaignOptions {
  /** JSON lines, one TrialResult each; read to resume, appended to as trials finish. */
  resultsFile: string;
  progress?(line: string): void;
}

export function readResults(file: string): TrialResult[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TrialResult);
}

export async function runCampaign(plan: CampaignPlan, options: CampaignOptions): Promise<TrialResult[]> {
  const done = new Map(readResults(options.resultsFile).map((r) => [r.spec.id, r]));
  const todo = plan.trials.filter((t) => !done.has(t.id));
  options.progress?.(`${plan.trials.length} trials, ${done.size} already done, ${todo.length} to run`);
  const started = Date.now();
  for (const [i, spec] of todo.entries()) {
    const result = await runTrial(spec, plan.deadlineMs);
    appendFileSync(options.resultsFile, `${JSON.stringify(result)}\n`);
    done.set(spec.id, result);
    const eta = ((Date.now() - started) / (i + 1)) * (todo.length - i - 1) / 1000;
    options.progress?.(`[${i + 1}/${todo.length}] ${spec.id}: ${result.outcome} (${(result.elapsedMs / 1000).toFixed(1)} s; ~${eta.toFixed(0)} s left)`);
  }
  return plan.trials.map((t) => done.get(t.id)!);
}
