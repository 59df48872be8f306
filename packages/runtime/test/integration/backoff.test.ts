/**
 * The shadow manager under a fake clock: the restart policy's backoff holds recovery back for
 * exactly its delay, the first restart after a stable period is immediate, and the calls that
 * waited are served once the driver is back. Real worker domains, fake time.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent, until } from '../../src/testing/events.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';
import { kManaged } from '../../src/manager/shadow-manager.js';

test('backoff delays recovery by exactly the policy delay, in fake time', async () => {
  const before = snapshot();
  const clock = new FakeClock();
  const rt = createRuntime({ clock, random: () => 0.5, faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'slow', driver: 'ram', config: { sizeBytes: 8 * BLOCK },
      restart: { baseDelayMs: 100, maxDelayMs: 1000, jitter: 0, stableAfterMs: 500, intensity: 10, periodMs: 10_000 },
    });
    await disk.open();
    await disk.write(0, blockContent(0, 1));
    const managed = rt.manager[kManaged]('slow')!;

    // First failure: restarted at once, no timer involved.
    let recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('slow', { kind: 'exit' });
    let event = await recovered;
    assert.equal(event.phases.backoff, undefined);

    // Second failure before the driver was stable: a 100 ms backoff.
    recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('slow', { kind: 'exit' });
    await until(() => clock.nextOneShot() === 100, 'the backoff timer');
    let served = false;
    const read = disk.read(0, BLOCK).then((data) => { served = true; return data; });
    clock.advance(99);
    assert.equal(managed.state, 'recovering');
    assert.equal(clock.nextOneShot(), 1, 'still backing off after 99 ms');
    assert.equal(served, false);
    clock.advance(1);
    event = await recovered;
    assert.equal(event.phases.backoff, 100);
    assert.deepEqual(await read, blockContent(0, 1), 'the read that waited was served');

    // Stable for 500 ms: forgiven, the next restart is immediate again.
    clock.advance(500);
    recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('slow', { kind: 'exit' });
    event = await recovered;
    assert.equal(event.phases.backoff, undefined);
    assert.equal(managed.recoveries, 3);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
