/** Device-level fault scenarios in the campaign plan and report. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { deviceScenarios } from '../../src/campaign/device/index.js';
import { deviceSection } from '../../src/campaign/device/report.js';
import { campaignPlan } from '../../src/campaign/plan.js';
import type { TrialResult } from '../../src/campaign/types.js';

test('the full plan runs every device scenario in every configuration; the quick one under the shadow', () => {
  const names = Object.keys(deviceScenarios);
  assert.ok(names.length >= 2);
  const full = campaignPlan({ quick: false }).trials.filter((t) => t.fault.type === 'device');
  for (const name of names) {
    for (const c of ['native', 'restart', 'shadow']) {
      assert.equal(full.filter((t) => t.app === name && t.configuration === c).length, campaignPlan({ quick: false }).sizes.deviceRepeats, `${name} ${c}`);
    }
  }
  const quick = campaignPlan({ quick: true }).trials.filter((t) => t.fault.type === 'device');
  const inQuick = names.filter((n) => !deviceScenarios[n]!.notQuick);
  assert.deepEqual(quick.map((t) => `${t.app}/${t.configuration}`), inQuick.map((n) => `${n}/shadow`));
  // --apps picks scenarios by name, and applications without them.
  const only = campaignPlan({ quick: true, apps: ['nbd-eio'] }).trials;
  assert.deepEqual(only.map((t) => t.id), ['nbd-eio/shadow/device/0']);
});

test('the report counts ok trials per scenario and configuration and says how each was handled', () => {
  const result = (configuration: 'native' | 'shadow', outcome: 'ok' | 'malfunction', cause: string): TrialResult => ({
    spec: { id: `nbd-stall/${configuration}/device/0`, app: 'nbd-stall', configuration, fault: { type: 'device', kind: 'nbd-stall' }, seed: 3000 },
    outcome, cause, app: undefined, recoveries: [], failures: 0, faults: 1, elapsedMs: 10,
  });
  const text = deviceSection([result('native', 'malfunction', 'read missed its deadline'), result('shadow', 'ok', 'stalled, waited out')]).join('\n');
  assert.match(text, /\| nbd-stall \|.*\| 0 of 1 ok \| – \| 1 of 1 ok \|/);
  assert.match(text, /nbd-stall, native: malfunction — read missed its deadline/);
  assert.match(text, /nbd-stall, shadow: ok — stalled, waited out/);
  assert.equal(deviceSection([]).join(''), 'No device-level fault trials in this run.');
});
