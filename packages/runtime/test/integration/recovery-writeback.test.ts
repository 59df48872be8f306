/**
 * Read-after-write across failures: a driver with a write-back cache acknowledges writes it
 * holds only in memory, and crashes. Every write acknowledged since the last completed flush
 * stays in the shadow's log (bounded, with back-pressure) and is replayed to the new driver
 * before it serves a read: after any number of crashes, every acknowledged write reads back.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type FaultKind } from '../../src/index.js';
import { faultLoop } from '../../src/testing/fault-loop.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload, blockContent } from '../../src/testing/workload.js';
import { kManaged } from '../../src/manager/shadow-manager.js';

const driver = new URL('../fixtures/drivers/writeback.js', import.meta.url).href;

for (const domain of ['worker', 'process'] as const) {
  test(`a write-back driver crashed between writes and flushes, many times: every acknowledged write reads back (${domain})`, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    try {
      const name = `writeback-${domain}`;
      const disk = await rt.attachBlock({
        name, driver, domain, resources: [{ name: 'medium', memoryBytes: 256 * BLOCK }],
        restart: { intensity: 1000, baseDelayMs: 1, maxDelayMs: 5 },
      });
      await disk.open();
      const app = new BlockWorkload(disk, 128, 7);
      await app.fill(); // 128 writes, no flush: all of them only in the driver's cache
      const kinds: FaultKind[] = ['exit', 'throw', 'kill'];
      const faults = faultLoop(rt, name, disk, kinds, 20);
      await Promise.race([app.run(8, () => faults.injected.length >= 15), faults.failed]);
      await faults.stop();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0, 'a read after recovery returned an older block');
      await app.verifyAll();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0, 'an acknowledged write was lost');
      assert.ok(rt.status(name)!.recoveries >= 15);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}

test('writes kept until a flush are bounded: past the bound the shadow flushes before acknowledging more', async () => {
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({ name: 'bounded', driver, resources: [{ name: 'medium', memoryBytes: 2048 * BLOCK }] });
    await disk.open();
    const log = rt.manager[kManaged]('bounded')!.shadow!.log;
    let largest = 0;
    for (let b = 0; b < 2048; b++) {
      await disk.write(b * BLOCK, blockContent(b, 1));
      largest = Math.max(largest, log.unflushed.size);
    }
    assert.ok(largest <= 1025, `the log kept ${largest} writes`);
    assert.ok((await disk.stats()).flushes >= 1, 'the shadow asked for a flush');
    await disk.flush();
    assert.equal(log.unflushed.size, 0, 'a completed flush empties the kept writes');
    assert.equal(log.unflushedBytes, 0);
    rt.inject('bounded', { kind: 'exit' });
    for (const b of [0, 1000, 2047]) assert.deepEqual(await disk.read(b * BLOCK, BLOCK), blockContent(b, 1));
  } finally {
    await rt.close();
  }
});

for (const domain of ['worker', 'process'] as const) {
  test(`a driver that registers volatileCache: false costs no copies: nothing kept, nothing replayed, every write reads back after crashes (ram, ${domain})`, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    try {
      const name = `durable-${domain}`;
      const disk = await rt.attachBlock({
        name, driver: 'ram', domain, config: { sizeBytes: 128 * BLOCK },
        restart: { intensity: 1000, baseDelayMs: 1, maxDelayMs: 5 },
      });
      await disk.open();
      const log = rt.manager[kManaged](name)!.shadow!.log;
      const app = new BlockWorkload(disk, 128, 11);
      await app.fill(); // 128 acknowledged writes, no flush
      assert.equal(log.unflushed.size, 0, 'the shadow copied writes the driver said are on the medium');
      const faults = faultLoop(rt, name, disk, ['exit', 'throw', 'kill'], 20);
      await Promise.race([app.run(8, () => faults.injected.length >= 6), faults.failed]);
      await faults.stop();
      await app.verifyAll();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0, 'an acknowledged write was lost with the driver');
      assert.equal(log.unflushed.size, 0);
      assert.ok(rt.status(name)!.recoveries >= 6);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}

test('the write-back fixture, registering no volatileCache, has its acknowledged writes kept until a flush', async () => {
  const rt = createRuntime();
  try {
    const disk = await rt.attachBlock({ name: 'kept', driver, resources: [{ name: 'medium', memoryBytes: 64 * BLOCK }] });
    await disk.open();
    const log = rt.manager[kManaged]('kept')!.shadow!.log;
    for (let b = 0; b < 16; b++) await disk.write(b * BLOCK, blockContent(b, 1));
    assert.equal(log.unflushed.size, 16);
    await disk.flush();
    assert.equal(log.unflushed.size, 0);
  } finally {
    await rt.close();
  }
});
