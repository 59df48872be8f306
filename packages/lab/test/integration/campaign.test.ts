/**
 * The quick fault campaign, as CI runs it: every application under native, restart-only and
 * shadow recovery with fail-stop faults, a short soak each, and a few mutation trials. The
 * shadow must run every application normally through every fail-stop fault and every soak;
 * native must not, and restart-only must do as the paper's Nooks column says (the paper's pattern:
 * its network rows run normally after the agent reconfigured the NIC); a soak counts exactly the faults it
 * injected; the report holds every section; a second run resumes from the results.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCampaign, readResults } from '../../src/campaign/campaign.js';
import { campaignApps } from '../../src/campaign/apps/index.js';
import { campaignPlan } from '../../src/campaign/plan.js';
import { evaluateGoals, renderEvaluation } from '../../src/campaign/report.js';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';

/**
 * The real-tool applications and device scenarios: ext4 mounted over nbdfuse and a loop device
 * (compiler, encoder, database), hosts in network namespaces on TAPs (file transfer, remote
 * session, analyzer, a silent TAP peer), a private PulseAudio server (mp3 player, recorder,
 * speech, game effects, a server crash) and nbdkit (EIO, stalls).
 */
const missing = requires('root', 'loop', 'fuse', 'tun', 'netns', 'setpriv', 'unshare', 'nsenter',
  'nbdkit', 'nbdfuse', 'fusermount3', 'losetup', 'mkfs.ext4', 'mount', 'e2fsck', 'gcc', 'make', 'sox', 'lame', 'sqlite3',
  'ping', '/usr/bin/python3', 'curl', 'socat', 'tshark',
  'pulseaudio', 'pacat', 'parec', 'pactl', 'espeak-ng');

test('the quick campaign: shadow runs every application through every fail-stop fault; native does not, restart-only as the paper\'s Nooks', { skip: missing }, async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadow-campaign-'));
  try {
    const plan = campaignPlan({ quick: true });
    const file = join(dir, 'results.jsonl');
    // Two trials at a time, as the full campaign runs on this machine: each is a process of its own.
    const results = await runCampaign(plan, { resultsFile: file, jobs: 2, progress: (l) => console.log(l) });
    assert.equal(results.length, plan.trials.length);
    const goals = evaluateGoals(results, true);
    // Every shadow trial that was not ok, with its cause, in the message of whatever fails.
    const notOk = results.filter((r) => r.spec.configuration === 'shadow' && r.outcome !== 'ok' && r.outcome !== 'not-manifested')
      .map((r) => `${r.spec.id}: ${r.outcome}: ${r.cause}`).join('\n');
    for (const goal of goals.filter((g) => g.covered)) assert.ok(goal.met, `${goal.goal}: ${goal.measured}\n${notOk}`);
    const failStopShadow = results.filter((r) => r.spec.fault.type === 'fail-stop' && r.spec.configuration === 'shadow');
    for (const r of failStopShadow) assert.equal(r.outcome, 'ok', `${r.spec.id}: ${r.cause}`);
    for (const r of failStopShadow) assert.equal(r.faults, 1, `${r.spec.id}: one fault injected`);
    // Soak: the faults counted are the faults the soak injected, each recovered or counted as not.
    const soaks = results.filter((r) => r.spec.fault.type === 'soak');
    assert.equal(soaks.length, Object.values(campaignApps).filter((app) => !app.realTools).length);
    for (const r of soaks) {
      assert.ok(r.soak, `${r.spec.id}: no soak count`);
      assert.equal(r.faults, r.soak.injected, r.spec.id);
      assert.ok(r.faults >= 1, `${r.spec.id}: no fault injected`);
      assert.equal(r.soak.recovered + r.soak.unrecovered, r.soak.injected, r.spec.id);
      assert.ok(r.recoveries.length >= r.soak.recovered, r.spec.id);
      assert.equal(Object.values(r.soak.byKind).reduce((n, k) => n + (k ?? 0), 0), r.soak.injected, r.spec.id);
    }
    const report = renderEvaluation(results, goals, 'shadowd campaign --quick', 'now');
    for (const heading of ['faults injected', 'Fail-stop faults', 'Soak', 'Mutation faults', 'Recovery time', 'did not recover', 'Goals']) {
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
