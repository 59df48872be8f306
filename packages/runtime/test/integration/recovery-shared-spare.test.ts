/**
 * Shared spares (`warmStandby: 'shared'`): devices of one driver share a few started worker
 * domains instead of keeping one idle spare each. Recovery takes one and loads the driver into
 * it; the pool starts another; a spare that dies idle is replaced; spares that die while they
 * start stop being started and devices start cold; closing the runtime ends every spare.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type FailureEvent, type RecoveryEvent } from '../../src/index.js';
import { kManaged } from '../../src/manager/shadow-manager.js';
import { SpareDomains } from '../../src/isolation/spare-domains.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';

test('devices with a shared standby recover from one pool of started domains, their data intact', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true, spareDomains: 2 });
  try {
    const names = ['s0', 's1', 's2', 's3'];
    const disks = [];
    for (const [i, name] of names.entries()) {
      const disk = await rt.attachBlock({ name, driver: 'ram', warmStandby: 'shared', config: { sizeBytes: 16 * BLOCK } });
      await disk.open();
      await disk.write(0, blockContent(i, 1));
      disks.push(disk);
    }
    for (const name of names) assert.equal(rt.status(name)!.standby, 'shared');
    // Two faults in a row on different devices, each with a read in flight: both take a spare.
    for (const [i, name] of [[0, 's0'], [2, 's2'], [0, 's0']] as const) {
      await rt.standbyReady(name);
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name);
      rt.inject(name, { kind: i === 0 ? 'exit' : 'throw' });
      const read = disks[i]!.read(0, BLOCK);
      const event = await recovered;
      assert.equal(event.warmStandby, true, `${name}: recovery took a started spare`);
      assert.deepEqual(await read, blockContent(i, 1), `${name}: the read in flight completed with the device's data`);
    }
    for (const [i, disk] of disks.entries()) assert.deepEqual(await disk.read(0, BLOCK), blockContent(i, 1));
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a spare taken while it still starts belongs to its device: the driver\'s exit is seen as an exit', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true, spareDomains: 1 });
  try {
    // The first attach starts the pool; the second, right after it, takes the spare still starting.
    for (const name of ['first', 'second']) {
      const disk = await rt.attachBlock({ name, driver: 'ram', warmStandby: 'shared', config: { sizeBytes: 16 * BLOCK } });
      await disk.open();
    }
    assert.equal(rt.manager[kManaged]('second')!.current.fromSpare, false, 'the second device took a spare that had not booted');
    await rt.standbyReady('second'); // by now its own domain has booted too
    const failed = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === 'second');
    rt.inject('second', { kind: 'exit' });
    const failure = await failed;
    assert.equal(failure.kind, 'exit', `the exit was seen (${failure.message}), not a heartbeat missed after it`);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('spares are kept only for drivers a shared device would load, never more than its devices: a detach ends the surplus', async () => {
  const before = snapshot();
  const rt = createRuntime({ spareDomains: 2 });
  try {
    const v2 = new URL('../fixtures/drivers/ram-v2.js', import.meta.url).href;
    for (const [name, driver] of [['a', 'ram'], ['b', 'ram'], ['c', 'ram'], ['d', v2]] as const) {
      const disk = await rt.attachBlock({ name, driver, warmStandby: 'shared', config: { sizeBytes: 16 * BLOCK },
        ...(driver === 'ram' ? {} : { resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }] }) });
      await disk.open();
      await rt.standbyReady(name);
    }
    assert.deepEqual(rt.manager.spareDomains(), { booted: 3, starting: 0 }, 'two for ram\'s three devices, one for v2\'s one');
    await rt.manager.detach('d');
    assert.deepEqual(rt.manager.spareDomains(), { booted: 2, starting: 0 }, 'the last device of v2 went, and its spare');
    await rt.manager.detach('a');
    assert.deepEqual(rt.manager.spareDomains(), { booted: 2, starting: 0 }, 'b and c still take ram\'s two');
    await rt.manager.detach('b');
    assert.deepEqual(rt.manager.spareDomains(), { booted: 1, starting: 0 }, 'c alone keeps one');
    await rt.manager.detach('c');
    assert.deepEqual(rt.manager.spareDomains(), { booted: 0, starting: 0 });
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a shared standby in a process domain for a device with host resources is refused with one clear error', async () => {
  const rt = createRuntime();
  try {
    // A ram disk's medium reaches a process as a descriptor, which a started process cannot be handed.
    await assert.rejects(rt.attachBlock({ name: 'p', driver: 'ram', domain: 'process', warmStandby: 'shared', config: { sizeBytes: 16 * BLOCK } }),
      (err: unknown) => isShadowError(err, ErrorCodes.INVALID_ARGUMENT) && /needs a device without host resources \(.*medium\)/.test((err as Error).message));
    assert.equal(rt.status('p'), undefined, 'nothing was attached');
  } finally {
    await rt.close();
  }
});

test('with no spares kept, a shared standby recovers cold and says so', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true, spareDomains: 0 });
  try {
    const disk = await rt.attachBlock({ name: 'cold', driver: 'ram', warmStandby: 'shared', config: { sizeBytes: 16 * BLOCK } });
    await disk.open();
    await disk.write(0, blockContent(0, 1));
    await assert.rejects(rt.standbyReady('cold'), (err: unknown) => isShadowError(err, ErrorCodes.GAVE_UP));
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('cold', { kind: 'exit' });
    assert.equal((await recovered).warmStandby, false);
    assert.deepEqual(await disk.read(0, BLOCK), blockContent(0, 1));
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

for (const domain of ['worker', 'process'] as const) {
test(`the pool replaces a spare it hands over, and stops starting spares that die while they start (${domain})`, async () => {
  const before = snapshot();
  const driver = new URL('../../src/drivers/block/ram.js', import.meta.url).href;
  const good = new SpareDomains(1);
  try {
    const kind = { domain, memoryLimitMb: 64, preload: [driver] };
    await good.ready(kind);
    assert.deepEqual(good.counts(), { booted: 1, starting: 0 });
    if (domain === 'process') {
      // A started process cannot be handed a descriptor: the spare is refused and stays the pool's.
      const medium = { name: 'medium', fd: 0, path: 'memory:medium', sizeBytes: 4096, readOnly: false, isBlockDevice: false };
      assert.throws(() => good.take(kind, [medium]), /cannot be lent descriptors/);
      assert.deepEqual(good.counts(), { booted: 1, starting: 0 });
    }
    const taken = good.take(kind, []);
    assert.ok(taken?.booted, 'the spare handed over had booted');
    assert.deepEqual(good.counts(), { booted: 0, starting: 0 }, 'none is started while the taker is busy');
    good.fill(kind);
    assert.deepEqual(good.counts(), { booted: 0, starting: 1 }, 'another is starting in its place');
    await taken.domain.kill(); // the taker owns it
    await good.ready(kind);
  } finally {
    await good.close();
  }
  assert.deepEqual(good.counts(), { booted: 0, starting: 0 });
  // A heap too small to start in: each spare dies while it starts, and after a few the pool stops.
  const broken = new SpareDomains(1);
  try {
    const kind = { domain, memoryLimitMb: 1, preload: [driver] };
    await assert.rejects(broken.ready(kind), /ended while they started/);
    assert.ok(broken.stopped(kind));
    // Another driver's spares are not stopped by this one's.
    const other = { domain, memoryLimitMb: 64, preload: [driver] };
    await broken.ready(other);
    assert.equal(broken.stopped(other), undefined);
    const otherSpare = broken.take(other, []);
    assert.ok(otherSpare?.booted);
    await otherSpare.domain.kill(); // the taker owns it
    assert.equal(broken.take(kind, []), undefined, 'no spare, and none started');
    await until(() => broken.counts().starting === 0, 'nothing left starting');
  } finally {
    await broken.close();
  }
  // Driver modules whose import fails the spare: one touches a descriptor it was not lent (each
  // spare faults while it starts: a worker shares the kernel's descriptors, a process has its
  // own), one never ends (each spare is ended when its boot runs out of time).
  const fixtures = [['import-touches-fd', {}], ['import-loops', { bootTimeoutMs: 300 }]] as const;
  for (const [fixture, options] of fixtures.filter(([f]) => domain === 'worker' || f !== 'import-touches-fd')) {
    const pool = new SpareDomains(1, options);
    try {
      const kind = { domain, memoryLimitMb: 64, preload: [new URL(`../fixtures/drivers/${fixture}.js`, import.meta.url).href] };
      await assert.rejects(pool.ready(kind), /ended while they started/, fixture);
      assert.equal(pool.take(kind, []), undefined, fixture);
    } finally {
      await pool.close();
    }
  }
  await expectNoLeaks(before);
});
}
