/**
 * The campaign's plan and report as data: the quick plan covers every registered application
 * with a bounded number of trials each, the full plan every fault kind and the sized soak; the
 * same options give the same plan (seeds included); the goals count injected faults, not trials.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { faultKinds } from 'shadow-drivers';
import { campaignApps } from '../../src/campaign/apps/index.js';
import { campaignPlan, configurationsOrder, FULL, FULL_CLASS_ALONE, partOf, tierOf, trialDeadline } from '../../src/campaign/plan.js';
import { evaluateGoals, recoveryGroups, renderEvaluation } from '../../src/campaign/report.js';
import { faultsOf, type TrialResult, type TrialSpec } from '../../src/campaign/types.js';

const apps = Object.keys(campaignApps);

test('the quick plan: every registered application, 2 kinds × 3 configurations + 1 soak + 2 mutations each (real tools: exit × 3; native-code drivers: exit and segfault × 3)', () => {
  const plan = campaignPlan({ quick: true });
  assert.equal(new Set(plan.trials.map((t) => t.id)).size, plan.trials.length, 'trial ids are unique');
  for (const app of apps) {
    const real = campaignApps[app]!.realTools === true;
    // A native-code driver's application also gets a real SIGSEGV in each configuration.
    const native = campaignApps[app]!.nativeCode === true;
    const mine = plan.trials.filter((t) => t.app === app);
    assert.equal(mine.length, native ? 6 : real ? 3 : 9, `${app}: ${mine.length} trials`);
    const failStop = mine.filter((t) => t.fault.type === 'fail-stop');
    assert.equal(failStop.length, native ? 6 : real ? 3 : 6);
    if (native) assert.equal(failStop.filter((t) => t.fault.type === 'fail-stop' && t.fault.kind === 'segfault').length, 3);
    assert.deepEqual(new Set(failStop.map((t) => t.configuration)), new Set(configurationsOrder));
    assert.ok(failStop.some((t) => t.fault.type === 'fail-stop' && t.fault.kind === 'exit'));
    const soaks = mine.filter((t) => t.fault.type === 'soak');
    assert.equal(soaks.length, real ? 0 : 1);
    if (!real) assert.equal(soaks[0]!.configuration, 'shadow');
    assert.equal(mine.filter((t) => t.fault.type === 'mutation').length, real ? 0 : 2);
  }
  assert.equal(plan.sizes.apps, apps.length);
  const light = apps.filter((app) => !campaignApps[app]!.realTools).length;
  const v = plan.sizes.tiers.virtual;
  assert.equal(plan.trials.length, light * (plan.sizes.failStopKinds * 3 * v.failStopRepeats + v.mutationsPerApp + v.transientMutationsPerApp + v.soakShadow + v.soakRestart)
    + (apps.length - light) * 3 * plan.sizes.tiers.realTools.failStopRepeats + plan.sizes.deviceScenarios // device: shadow only
    + apps.filter((app) => campaignApps[app]!.nativeCode).length * 3 * plan.sizes.tiers.realTools.failStopRepeats); // their segfault
});

test('the full plan: every fault kind in every configuration, each tier its repeats, soaks and mutants', () => {
  const plan = campaignPlan({ quick: false });
  for (const app of apps) {
    const tier = FULL[tierOf(app)];
    assert.equal(tierOf(app), campaignApps[app]!.realTools ? 'realTools' : 'virtual');
    const mine = plan.trials.filter((t) => t.app === app);
    for (const c of configurationsOrder) {
      for (const kind of faultKinds) {
        assert.equal(mine.filter((t) => t.configuration === c && t.fault.type === 'fail-stop' && t.fault.kind === kind).length, tier.failStopRepeats, `${app} ${c} ${kind}`);
      }
    }
    assert.equal(mine.filter((t) => t.fault.type === 'soak' && t.configuration === 'shadow').length, tier.soakShadow);
    assert.equal(mine.filter((t) => t.fault.type === 'soak' && t.configuration === 'restart').length, tier.soakRestart);
    // A class only applications of real tools run (serial) has its drivers mutated by them.
    const alone = campaignApps[app]!.realTools === true && !apps.some((a) => !campaignApps[a]!.realTools && campaignApps[a]!.className === campaignApps[app]!.className);
    const mutants = alone ? FULL_CLASS_ALONE : tier;
    assert.equal(mine.filter((t) => t.fault.type === 'mutation' && !t.fault.transient).length, mutants.mutationsPerApp, `${app} persistent mutants`);
    const transient = mine.filter((t) => t.fault.type === 'mutation' && t.fault.transient);
    assert.equal(transient.length, mutants.transientMutationsPerApp, `${app} transient mutants`);
    assert.ok(transient.every((t) => t.id.includes('/mutation-transient/')), 'transient and persistent mutants have ids of their own');
    const soak = mine.find((t) => t.fault.type === 'soak');
    assert.equal(soak !== undefined, tier.soakShadow + tier.soakRestart > 0);
    if (soak) {
      assert.ok(soak.fault.type === 'soak' && soak.fault.scale === tier.soakScale);
      assert.ok(trialDeadline(plan, soak) > trialDeadline(plan, mine[0]!), 'a soak is given longer than a one-fault trial');
    }
    assert.equal(trialDeadline(plan, mine[0]!), tier.deadlineMs);
  }
  // Every class's drivers are mutated in the full plan, serial's included.
  for (const cls of ['block', 'net', 'sound', 'serial']) {
    assert.ok(plan.trials.some((t) => t.fault.type === 'mutation' && t.fault.transient && campaignApps[t.app]?.className === cls), `${cls} transient mutants`);
    assert.ok(plan.trials.some((t) => t.fault.type === 'mutation' && !t.fault.transient && campaignApps[t.app]?.className === cls), `${cls} persistent mutants`);
  }
  assert.deepEqual(plan.sizes.classAlone?.apps, apps.filter((a) => campaignApps[a]!.className === 'serial'));
  // The virtual tier carries the mutation goal: at least 100 manifested of its transient mutants at a 32% rate.
  assert.ok(FULL.virtual.transientMutationsPerApp * 0.32 >= 100);
  assert.ok(plan.trials.filter((t) => t.fault.type === 'device').every((t) => trialDeadline(plan, t) === FULL.realTools.deadlineMs));
  assert.equal(plan.deadlineMs, Math.max(FULL.virtual.deadlineMs, FULL.realTools.deadlineMs));
  // Options override both tiers.
  const small = campaignPlan({ quick: false, mutationsPerApp: 5, repeats: 1, soaks: 2 });
  for (const t of Object.values(small.sizes.tiers)) assert.deepEqual([t.mutationsPerApp, t.transientMutationsPerApp, t.failStopRepeats, t.soakShadow], [5, 5, 1, 2]);
  assert.equal(small.trials.filter((t) => t.app === 'serial-session' && t.fault.type === 'mutation').length, 10, '--mutations overrides the serial applications too');
});

test('--only keeps the named parts of the plan and nothing else', () => {
  const full = campaignPlan({ quick: false, apps: ['serial-session', 'dataset'] });
  const mutants = campaignPlan({ quick: false, apps: ['serial-session', 'dataset'], only: ['mutation-transient', 'mutation'] });
  assert.ok(mutants.trials.length > 0);
  assert.deepEqual(mutants.trials, full.trials.filter((t) => t.fault.type === 'mutation'));
  assert.deepEqual(new Set(mutants.trials.map(partOf)), new Set(['mutation-transient', 'mutation']));
  const soaks = campaignPlan({ quick: true, only: ['soak'] });
  assert.ok(soaks.trials.length > 0 && soaks.trials.every((t) => t.fault.type === 'soak'));
});

test('the same options give the same plan, seeds included; soak trials differ in seed', () => {
  for (const quick of [true, false]) assert.deepEqual(campaignPlan({ quick }), campaignPlan({ quick }));
  const soaks = campaignPlan({ quick: false }).trials.filter((t) => t.fault.type === 'soak' && t.app === apps[0] && t.configuration === 'shadow');
  assert.equal(new Set(soaks.map((t) => t.seed)).size, soaks.length);
  const only = campaignPlan({ quick: true, apps: [apps[0]!] });
  assert.deepEqual(only.trials, campaignPlan({ quick: true }).trials.filter((t) => t.app === apps[0]));
});

function result(spec: TrialSpec, outcome: TrialResult['outcome'], faults: number, recoveries: number[] = []): TrialResult {
  return { spec, outcome, cause: outcome === 'ok' ? '' : 'why', app: undefined, recoveries: recoveries.map((totalMs) => ({ cause: 'exit', totalMs, fault: 'exit' })), failures: faults, faults, elapsedMs: 1000 };
}
const soakSpec = (i: number): TrialSpec => ({ id: `${apps[0]}/shadow/soak/${i}`, app: apps[0]!, configuration: 'shadow', fault: { type: 'soak', scale: 40, intervalMs: [100, 300] }, seed: 2000 + i });
const failStopSpec = (i: number): TrialSpec => ({ id: `${apps[0]}/shadow/fail-stop/exit/${i}`, app: apps[0]!, configuration: 'shadow', fault: { type: 'fail-stop', kind: 'exit' }, seed: 1000 + i });
const faultGoal = (rs: TrialResult[]) => evaluateGoals(rs, false).find((g) => g.goal.includes('10,000'))!;

test('the 10,000-faults goal counts injected faults, not trials', () => {
  // Two soak trials that injected 5,001 faults each: met, although there are only two trials.
  const soaks = [result(soakSpec(0), 'ok', 5001), result(soakSpec(1), 'ok', 5001)];
  assert.equal(faultGoal(soaks).met, true, faultGoal(soaks).measured);
  assert.match(faultGoal(soaks).measured, /^10002 faults injected in 2 trials/);
  // 10,000 trials whose fault was never injected: not met.
  const idle = Array.from({ length: 10_000 }, (_, i) => result(failStopSpec(i), 'ok', 0));
  assert.equal(faultGoal(idle).met, false);
  // Enough faults, but one shadow trial crashed the host: not met.
  assert.equal(faultGoal([...soaks, result(soakSpec(2), 'crash-hang', 3)]).met, false);
  // The quick plan does not cover it.
  assert.equal(evaluateGoals(soaks, true).find((g) => g.goal.includes('10,000'))!.covered, false);
});

test('results written before faults were recorded count one fault per fault-carrying trial', () => {
  const legacy = { spec: failStopSpec(0) } as Pick<TrialResult, 'faults' | 'spec'>;
  assert.equal(faultsOf(legacy), 1);
  assert.equal(faultsOf({ spec: { ...failStopSpec(0), fault: { type: 'none' } } } as Pick<TrialResult, 'faults' | 'spec'>), 0);
  assert.equal(faultsOf(result(soakSpec(0), 'ok', 17)), 17);
});

test('the report shows the faults injected per part, the soak section, the plot and the recovery groups', () => {
  const rs = [result(soakSpec(0), 'ok', 40, [20, 30, 40]), result(failStopSpec(0), 'ok', 1, [25])];
  const groups = recoveryGroups(rs);
  assert.deepEqual(groups, [{ label: `${campaignApps[apps[0]!]!.className} exit`, ms: [20, 30, 40, 25] }]);
  const plan = campaignPlan({ quick: false });
  const report = renderEvaluation(rs, evaluateGoals(rs, false), 'shadowd campaign', 'now', { plan: plan.sizes, plot: 'evaluation-recovery.png' });
  assert.match(report, /\| soak under the shadow \| 1 \| 40 \|/);
  assert.match(report, /\| all \| 2 \| 41 \|/);
  assert.ok(report.includes('![Recovery time under the shadow by class and fault kind](evaluation-recovery.png)'));
  assert.ok(report.includes(`soak ${FULL.virtual.soakShadow} trial(s) under the shadow and ${FULL.virtual.soakRestart} under restart-only recovery`));
  assert.ok(report.includes(`${FULL.realTools.transientMutationsPerApp} mutant(s) with the fault in the loaded driver and ${FULL.realTools.mutationsPerApp} in its file; a trial's deadline ${FULL.realTools.deadlineMs / 1000} s.`));
  assert.match(report, /## Soak: faults again and again/);
});

test('the report puts the paper\'s outcomes and recovery shares beside ours, and breaks mutations down by operator', () => {
  const spec = (app: string, configuration: TrialSpec['configuration'], kind: 'exit' | 'throw', i = 0): TrialSpec =>
    ({ id: `${app}/${configuration}/fail-stop/${kind}/${i}`, app, configuration, fault: { type: 'fail-stop', kind }, seed: 1000 + i });
  const mutant = (app: string, seed: number, outcome: TrialResult['outcome'], operator: string): TrialResult => ({
    ...result({ id: `${app}/shadow/mutation/${seed}`, app, configuration: 'shadow', fault: { type: 'mutation', seed }, seed }, outcome, 1),
    mutation: `block/medium.js:${seed}: ${operator}, what it did`,
  });
  const rs = [
    result(spec('compiler', 'native', 'exit'), 'crash-hang', 1), result(spec('compiler', 'restart', 'throw'), 'malfunction', 1),
    result(spec('compiler', 'shadow', 'exit'), 'ok', 1), result(spec('dataset', 'shadow', 'exit'), 'ok', 1),
    mutant('compiler', 1, 'ok', 'drop-await'), mutant('compiler', 2, 'malfunction', 'drop-await'), mutant('compiler', 3, 'not-manifested', 'return-early'),
  ];
  const report = renderEvaluation(rs, evaluateGoals(rs, false), 'shadowd campaign', 'now');
  assert.match(report, /\| compiler \| [^|]+ \| 0 ok \/ 0 malf\. \/ 1 crash \| 0 ok \/ 1 malf\. \/ 0 crash \| 1 ok \/ 0 malf\. \/ 0 crash \| crash \/ crash \/ ok \|/);
  assert.match(report, /\| dataset \| [^|]+ \|.*\| – \|/, 'an application that reproduces no paper row has no paper cell');
  assert.match(report, /\| exit \| 0 ok \/ 0 malf\. \/ 1 crash \| – \| 2 ok \/ 0 malf\. \/ 0 crash \|/);
  assert.match(report, /\| compiler \| 3 \| 1 \| 2 \| 50\.0% \[\d+–\d+%\] \| 50\.0% \| 0\.0% \| 38% \|/);
  assert.match(report, /\| drop-await \| 2 \| 2 \| 50\.0% \| 50\.0% \| 0\.0% \|/);
  assert.match(report, /\| return-early \| 1 \| 0 \| – \|/);
});

test('the lost-committed-data goal counts storage trials under the shadow with fail-stop or soak faults, not mutants', () => {
  const goal = (rs: TrialResult[]) => evaluateGoals(rs, false).find((g) => g.goal.startsWith('0 lost committed data'))!;
  const storage = (outcome: TrialResult['outcome']) => result(failStopSpec(0), outcome, 1);
  assert.equal(campaignApps[apps[0]!]!.className, 'block');
  assert.equal(goal([storage('ok'), result(soakSpec(0), 'ok', 9)]).met, true);
  const lost = goal([storage('malfunction')]);
  assert.equal(lost.met, false);
  assert.match(lost.measured, new RegExp(`not: ${failStopSpec(0).id}`));
  const mutant = { ...result({ ...failStopSpec(0), id: 'm', fault: { type: 'mutation', seed: 1 } }, 'malfunction', 1) };
  assert.equal(goal([storage('ok'), mutant]).met, true, 'a mutant driver\'s wrong answers are not the shadow losing data');
});

test('the report names the cells where our commonest outcome differs from the paper\'s', () => {
  const spec = (configuration: TrialSpec['configuration'], i: number): TrialSpec =>
    ({ id: `compiler/${configuration}/fail-stop/exit/${i}`, app: 'compiler', configuration, fault: { type: 'fail-stop', kind: 'exit' }, seed: 1000 + i });
  const rs = [result(spec('native', 0), 'crash-hang', 1), result(spec('restart', 0), 'malfunction', 1), result(spec('restart', 1), 'malfunction', 1),
    result(spec('restart', 2), 'crash-hang', 1), result(spec('shadow', 0), 'ok', 1)];
  const report = renderEvaluation(rs, evaluateGoals(rs, false), 'shadowd campaign', 'now');
  assert.match(report, /differs from the paper's: compiler restart: ours malfunction, the paper's crash\./);
  assert.ok(!report.includes('compiler native: ours'), 'native crashed, as in the paper');
});
