/**
 * The quick fault campaign, as CI runs it: every application under native, restart-only and
 * shadow recovery with fail-stop faults, and a few mutation trials. The shadow must run every
 * application normally through every fail-stop fault; native and restart-only must not (the
 * paper's pattern); the report holds every section; a second run resumes from the results.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCampaign, readResults } from '../../src/campaign/campaign.js';
import { campaignPlan } from '../../src/campaign/plan.js';
import { evaluateGoals, renderEvaluation } from '../../src/campaign/report.js';
import { expectNoLeaks, snapshot } from '../helpers/leaks.js';

test('the quick campaign: shadow runs every application through every fail-stop fault; native and restart-only do not', async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadow-campaign-'));
  try {
    const plan = campaignPlan({ quick: true });
    const file = join(dir, 'results.jsonl');
    const results = await runCampaign(plan, { resultsFile: file, progress: (l) => console.log(l) });
    assert.equal(results.length, plan.trials.length);
    const goals = evaluateGoals(results, true);
    for (const goal of goals.filter((g) => g.covered)) assert.ok(goal.met, `${goal.goal}: ${goal.measured}`);
    const failStopShadow = results.filter((r) => r.spec.fault.type === 'fail-stop' && r.spec.configuration === 'shadow');
    for (const r of failStopShadow) assert.equal(r.outcome, 'ok', `${r.spec.id}: ${r.cause}`);
    const report = renderEvaluation(results, goals, 'shadowd campaign --quick', 'now');
    for (const heading of ['Fail-stop faults', 'Mutation faults', 'Recovery time', 'did not recover', 'Goals']) {
      assert.ok(report.includes(heading), `the report lacks "${heading}"`);
    }
    // Resumable: everything is in the file, so a second run has nothing to do.
    let ran = 0;
    await runCampaign(plan, { resultsFile: file, progress: (l) => { if (l.startsWith('[')) ran++; } });
    assert.equal(ran, 0);
    assert.equal(readResults(file).length, plan.trials.length);
    console.log(report.split('## Recovery')[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});
