/** The classes of cause the report counts for trials the shadow did not recover. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { causeOf, causeTable } from '../../src/campaign/causes.js';
import type { TrialResult } from '../../src/campaign/types.js';

const trial = (app: string, cause: string): TrialResult => ({
  spec: { id: `${app}/shadow/mutation/1`, app, configuration: 'shadow', fault: { type: 'mutation', seed: 1 }, seed: 1 },
  outcome: 'malfunction', cause, app: undefined, recoveries: [], failures: 1, faults: 1, elapsedMs: 1,
});

test('causes are classed by what the trial said, first rule first', () => {
  assert.equal(causeOf(trial('a', 'the application stopped: driver x failed to start: driver threw: boom')), 'never started');
  // A serial write the driver had announced, in flight at the failure: indeterminate, never repeated.
  assert.equal(causeOf(trial('a', '0 of 60 lines echoed; error: write is not idempotent and was in flight when the driver failed')), 'indeterminate');
  assert.equal(causeOf(trial('a', '0 blocks verified, 34 errors: SD_ERR_POISON_REQUEST write was in flight at 3 consecutive driver failures')), 'poison request');
  assert.equal(causeOf(trial('a', 'write failed: SD_ERR_GAVE_UP the device gave up')), 'given up');
  assert.equal(causeOf(trial('a', 'the host process was killed by SIGKILL before the application finished')), 'host crash or hang');
  assert.equal(causeOf(trial('a', '38 errors: SD_ERR_IO device error: the disk is not open')), 'wrong answers');
  assert.equal(causeOf(trial('a', 'the application stopped: geometry was in flight at 3 consecutive driver failures and was quarantined')), 'poison request');
  assert.equal(causeOf(trial('a', 'the application stopped: device error: the disk is not initialized')), 'wrong answers');
  assert.equal(causeOf(trial('a', '0 of 6101 frames received, 0 lost (0 outside the fault\'s window)')), 'wrong answers');
  assert.equal(causeOf(trial('a', 'no result within 45000 ms: 14 driver failures detected and recovered, the application served too slowly to finish')), 'too slow');
  assert.equal(causeOf(trial('a', 'no result within 45000 ms (hang)')), 'host crash or hang');
  assert.equal(causeOf(trial('a', 'something unheard of')), 'other');
});

test('the table counts each application\'s cases per class and explains every class', () => {
  const lines = causeTable([trial('dataset', 'failed to start'), trial('dataset', 'failed to start'), trial('frames', 'SD_ERR_POISON_REQUEST')]);
  assert.match(lines[0]!, /^\| application \| never started \| poison request \|/);
  assert.ok(lines.includes('| dataset | 2 |  |  |  |  |  |  |  |'), lines.join('\n'));
  assert.ok(lines.includes('| frames |  | 1 |  |  |  |  |  |  |'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('- **never started**:')));
  assert.deepEqual(causeTable([]), []);
});
