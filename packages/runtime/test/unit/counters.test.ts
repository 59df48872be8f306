/**
 * The drivers' and shadows' statistics counters (classes/tally.ts, BlockCounters, NetCounters):
 * each call counts where its class says, counts stay exact past 2^32 bytes, and clear starts over.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BlockCounters } from '../../src/driver/block.js';
import { NetCounters } from '../../src/driver/net.js';

test('block counters: each entry point counts its request and bytes, exact past 2^32', () => {
  const c = new BlockCounters();
  c.count('read', 4096);
  c.count('write', 2 ** 31);
  c.count('write', 2 ** 31 + 7);
  c.count('flush');
  c.count('discard');
  c.count('geometry'); // not a request the statistics count
  assert.deepEqual(c.stats(), { reads: 1, writes: 2, flushes: 1, discards: 1, bytesRead: 4096, bytesWritten: 2 ** 32 + 7 });
  c.clear();
  assert.deepEqual(c.stats(), { reads: 0, writes: 0, flushes: 0, discards: 0, bytesRead: 0, bytesWritten: 0 });
});

test('net counters: frames the medium took, dropped, received and filtered', () => {
  const c = new NetCounters();
  const frames = [new Uint8Array(60), new Uint8Array(1514), new Uint8Array(100)];
  c.transmitted(frames, 2); // the third was refused
  c.received(new Uint8Array(64));
  c.filtered();
  assert.deepEqual(c.stats(), { rxFrames: 1, rxBytes: 64, txFrames: 2, txBytes: 1574, rxFiltered: 1, txDropped: 1 });
  c.clear();
  assert.equal(c.stats().txBytes, 0);
});
