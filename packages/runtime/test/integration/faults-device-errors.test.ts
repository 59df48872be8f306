/**
 * Device errors are not driver bugs: a disk whose fs calls fail with EIO or ENOSPC gives those
 * requests SD_ERR_IO carrying the errno, and its driver is kept (no restart, no quarantine);
 * a replayed call the device refuses during recovery does not fail the restart.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload, blockContent } from '../../src/testing/workload.js';

const driver = new URL('../fixtures/drivers/failing-medium.js', import.meta.url).href;

function causeCode(error: unknown): unknown {
  return isShadowError(error) ? (error.cause as { code?: unknown } | undefined)?.code : undefined;
}

for (const domain of ['worker', 'process'] as const) {
  test(`bad blocks: EIO and ENOSPC from fs calls are SD_ERR_IO for those requests; the driver is kept (${domain})`, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    try {
      const events: unknown[] = [];
      for (const e of ['failure', 'quarantine', 'gave-up']) rt.manager.on(e, (m) => events.push([e, m]));
      const disk = await rt.attachBlock({
        name: `bad-${domain}`, driver, domain, config: { badBlocks: [40, 41], errno: { read: 'EIO', write: 'ENOSPC' } },
        resources: [{ name: 'medium', memoryBytes: 64 * BLOCK }],
      });
      await disk.open();
      const app = new BlockWorkload(disk, 32); // blocks 0..31: all good
      await app.fill();
      const bad = Promise.allSettled([
        ...Array.from({ length: 6 }, () => disk.read(40 * BLOCK, 2 * BLOCK)),
        ...Array.from({ length: 6 }, (_, i) => disk.write(41 * BLOCK, blockContent(41, i))),
        disk.discard(40 * BLOCK, BLOCK),
      ]);
      await app.run(4, () => app.completed >= 200);
      const settled = await bad;
      for (const [i, result] of settled.entries()) {
        assert.equal(result.status, 'rejected', `bad-block request ${i} succeeded`);
        const reason = (result as PromiseRejectedResult).reason;
        assert.ok(isShadowError(reason, ErrorCodes.IO), `request ${i}: ${String(reason)}`);
        assert.equal(causeCode(reason), i < 6 ? 'EIO' : 'ENOSPC', `request ${i} carries its errno`);
      }
      await app.verifyAll();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0);
      assert.deepEqual(await disk.read(42 * BLOCK, BLOCK), new Uint8Array(BLOCK), 'a good block next to the bad ones');
      assert.deepEqual(events, [], 'no failure, quarantine or give-up for device errors');
      assert.equal(rt.status(`bad-${domain}`)!.recoveries, 0);
      assert.equal(rt.status(`bad-${domain}`)!.state, 'running');
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}

test('a replayed configure that hits EIO during recovery does not count as a failed restart', async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadow-eio-'));
  const failPath = join(dir, 'inject');
  const rt = createRuntime({ faultInjection: true });
  try {
    const failures: unknown[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    rt.manager.on('gave-up', (e) => failures.push(e));
    const disk = await rt.attachBlock({
      name: 'replay-eio', driver, config: { syncFails: true, failPath },
      resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
      restart: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    await disk.open();
    await disk.write(0, blockContent(0, 1));
    await disk.configure('writeCache', 'writethrough'); // syncs the cache: the device still syncs
    writeFileSync(failPath, ''); // from now on every sync fails with EIO
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('replay-eio', { kind: 'exit' });
    const event = await recovered;
    assert.equal(event.attempts, 1, 'the healthy new driver was not restarted again');
    assert.equal(event.replayed, 2, 'open and the write-cache setting');
    assert.equal(event.replayRefused, 1, 'the configure the device refused');
    assert.equal(failures.length, 1, 'only the injected exit');
    await assert.rejects(disk.flush(), (e: unknown) => isShadowError(e, ErrorCodes.IO) && causeCode(e) === 'EIO');
    rmSync(failPath);
    await disk.flush();
    assert.deepEqual(await disk.read(0, BLOCK), blockContent(0, 1));
    assert.equal(rt.status('replay-eio')!.state, 'running');
    assert.equal(rt.status('replay-eio')!.recoveries, 1);
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});
