/**
 * Broken new versions roll back by themselves, under a running, verified workload, with no
 * application-visible error; each rollback names its cause. A version that rolled back is not
 * tried again unless forced.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type UpdateRolledBackEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';

const fixture = (name: string) => new URL(`../fixtures/drivers/${name}.js`, import.meta.url).href;
const broken = (breakage: string) => `${fixture('ram-broken')}?${breakage}`;

interface Case {
  what: string;
  driver: string;
  failedIn: RegExp;
  cause: RegExp;
}

const cases: Case[] = [
  { what: 'throws at init', driver: broken('init-throws'), failedIn: /^init$/, cause: /cannot initialize/ },
  { what: 'never registers', driver: fixture('unregistered'), failedIn: /^init$/, cause: /without registering the device/ },
  { what: 'registers a different geometry', driver: broken('other-geometry'), failedIn: /^init$/, cause: /registration refused: .*expected \d+\/4096/ },
  { what: 'fails its 10th request', driver: broken('fails-10th'), failedIn: /^(replay|probation)$/, cause: /fails its 10th request/ },
  { what: 'breaks the contract (a short read)', driver: broken('short-read'), failedIn: /^probation$/, cause: /contract in read: read of 4096 bytes returned/ },
  { what: 'hangs', driver: broken('hangs'), failedIn: /^probation$/, cause: /hang in read: read missed its deadline/ },
];

for (const c of cases) {
  test(`a new version that ${c.what} rolls back; the application sees no error`, async () => {
    const before = snapshot();
    const rt = createRuntime();
    try {
      const disk = await rt.attachBlock({ name: 'disk0', driver: 'ram', domain: 'worker', config: { sizeBytes: 256 * BLOCK } });
      await disk.open();
      const work = new BlockWorkload(disk, 128);
      await work.fill();
      let stop = false;
      const running = work.run(8, () => stop);
      let event: UpdateRolledBackEvent;
      try {
        const rolledBack = waitForEvent<UpdateRolledBackEvent>(rt.manager, 'update-rolled-back');
        const report = await rt.update('disk0', { driver: c.driver });
        event = await rolledBack;
        assert.equal(report.outcome, 'rolled-back');
        assert.match(report.failedIn!, c.failedIn);
        assert.match(report.cause!, c.cause);
        assert.equal(event.cause, report.cause, 'the event names the cause');
        assert.equal(rt.status('disk0')!.version, 'ram', 'the previous version serves');
        assert.equal(rt.status('disk0')!.state, 'running');
        const completed = work.completed;
        await new Promise<void>((resolve) => { const check = () => (work.completed > completed + 50 ? resolve() : setImmediate(check)); check(); });
      } finally {
        stop = true;
        await running;
      }
      await work.verifyAll();
      assert.deepEqual(work.errors, [], 'no application-visible error');
      assert.equal(work.mismatches, 0, 'every read matched what was written');
      await assert.rejects(rt.update('disk0', { driver: c.driver }), (err: Error & { code?: string }) =>
        err.code === 'SD_ERR_BUSY' && /rolled back before/.test(err.message), 'not tried again until asked');
      assert.equal(rt.status('disk0')!.lastUpdate?.outcome, 'rolled-back');
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}

test('a version that rolled back is tried again with force: true, and a good version after it switches', async () => {
  const before = snapshot();
  const rt = createRuntime();
  try {
    const disk = await rt.attachBlock({ name: 'disk0', driver: 'ram', domain: 'worker', config: { sizeBytes: 16 * BLOCK } });
    await disk.open();
    const first = await rt.update('disk0', { driver: broken('init-throws') });
    assert.equal(first.outcome, 'rolled-back');
    const again = await rt.update('disk0', { driver: broken('init-throws'), force: true });
    assert.equal(again.outcome, 'rolled-back', 'forced: tried again (and rolled back again)');
    const good = await rt.update('disk0', { driver: fixture('ram-v2'), probation: { requests: 1, ms: 50 } });
    assert.equal(good.outcome, 'switched', good.cause);
    assert.equal(rt.status('disk0')!.version, fixture('ram-v2'), 'a version without a manifest is named by its URL');
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
