/**
 * The shadow's log is state, not a transcript: 10^5 requests through a real worker domain and
 * its size never grows beyond settings + open objects + answers + requests in flight + writes
 * not yet behind a flush (bounded by the write rule).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';
import { kManaged } from '../../src/manager/shadow-manager.js';

test('10^5 requests leave the passive log the same size', async () => {
  const rt = createRuntime();
  try {
    const disk = await rt.attachBlock({ name: 'long', driver: 'ram', config: { sizeBytes: 1024 * BLOCK } });
    await disk.open();
    await disk.configure('writeCache', 'writeback');
    await disk.geometry();
    await disk.stats();
    const log = rt.manager[kManaged]('long')!.shadow!.log;
    const settled = log.size; // open object + setting + two answers, nothing in flight
    assert.equal(settled, 4);
    const depth = 32;
    const total = 100_000;
    let issued = 0;
    let largest = 0;
    const data = blockContent(1, 1);
    const lane = async (lane: number) => {
      while (issued < total) {
        const n = issued++;
        const offset = ((n * 7 + lane) % 1024) * BLOCK;
        if (n % 1000 === 0) await disk.configure('writeCache', n % 2000 === 0 ? 'writethrough' : 'writeback');
        else if (n % 500 === 0) await disk.stats();
        else if (n % 2 === 0) await disk.write(offset, data);
        else await disk.read(offset, BLOCK);
        largest = Math.max(largest, log.size);
      }
    };
    await Promise.all(Array.from({ length: depth }, (_, i) => lane(i)));
    // Writes stay kept until a flush after them completes, up to the write rule's bound (the
    // shadow flushes itself past it): then the log holds exactly the state again.
    const kept = rt.manager[kManaged]('long')!.device.contract.entries.write!.log;
    const bound = kept.kind === 'until-barrier' ? kept.maxEntries + depth : 0;
    await disk.flush();
    assert.equal(log.size, settled, 'after the run and a flush the log holds exactly the state again');
    assert.ok(largest <= settled + depth + bound, `log grew to ${largest} (bound ${settled + depth + bound})`);
    assert.equal(log.settings.size, 1, 'superseded settings are compacted away');
    assert.equal((await disk.stats()).reads + (await disk.stats()).writes > 90_000, true);
  } finally {
    await rt.close();
  }
});
