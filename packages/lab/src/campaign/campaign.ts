/**
 * Runs a campaign's trials, `jobs` at a time (1 by default), appending each result to a
 * JSON-lines file as it finishes; a run started again with the same file skips the trials
 * already there. Progress: one line per trial with its outcome, the faults so far and an ETA.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { trialDeadline, type CampaignPlan } from './plan.js';
import { runTrial } from './trial.js';
import { faultsOf, type TrialResult, type TrialSpec } from './types.js';

export interface CampaignOptions {
  /** JSON lines, one TrialResult each; read to resume, appended to as trials finish. */
  resultsFile: string;
  progress?(line: string): void;
  /** Trials run at once (each in a process of its own). */
  jobs?: number;
}

export function readResults(file: string): TrialResult[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TrialResult);
}

const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

export async function runCampaign(plan: CampaignPlan, options: CampaignOptions): Promise<TrialResult[]> {
  const done = new Map(readResults(options.resultsFile).map((r) => [r.spec.id, r]));
  const todo = plan.trials.filter((t) => !done.has(t.id));
  const jobs = Math.max(1, Math.floor(options.jobs ?? 1));
  options.progress?.(`${plan.trials.length} trials, ${done.size} already done, ${todo.length} to run, ${jobs} at a time`);
  let faults = [...done.values()].reduce((n, r) => n + faultsOf(r), 0);
  const started = Date.now();
  let next = 0;
  let finished = 0;
  const run = async (spec: TrialSpec) => {
    const result = await runTrial(spec, trialDeadline(plan, spec));
    appendFileSync(options.resultsFile, `${JSON.stringify(result)}\n`);
    done.set(spec.id, result);
    faults += result.faults;
    finished++;
    const eta = ((Date.now() - started) / finished) * (todo.length - finished) / 1000;
    options.progress?.(`[${finished}/${todo.length}] ${spec.id}: ${result.outcome}, ${result.faults} fault(s) ` +
      `(${(result.elapsedMs / 1000).toFixed(1)} s; ${faults} faults in all; ~${clock(eta)} left)`);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, todo.length) }, async () => {
    while (next < todo.length) await run(todo[next++]!);
  }));
  return plan.trials.map((t) => done.get(t.id)!);
}
