/** The demo's measured cause for a gap outside recovery windows: the host's own stalls. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { HostStalls, LOOKBACK_MS } from '../../src/cli/demo-apps/host-stalls.js';

test('a gap is explained only when the host stood still, in it or just before it, at least as long as it lasted', () => {
  const stalls = new HostStalls();
  stalls.stop();
  stalls.stalls.push({ start: 1000, end: 1060 }, { start: 5000, end: 5010 });
  // A 50 ms gap right after a 60 ms stall: the machine's load.
  assert.equal(stalls.explains({ ms: 50, endedAt: 1150 }), true);
  // A 50 ms gap with only 10 ms of stall near it: unexplained.
  assert.equal(stalls.explains({ ms: 50, endedAt: 5100 }), false);
  // A gap long after any stall (beyond the look-back): unexplained.
  assert.equal(stalls.explains({ ms: 20, endedAt: 1060 + LOOKBACK_MS + 100 }), false);
  assert.equal(stalls.stalledMs(0, 10_000), 70);
  assert.equal(stalls.longestMs, 60);
});
