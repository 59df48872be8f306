/**
 * Domain groups (`domainGroup`): the devices of a group share one worker thread, one driver
 * instance each. A failure of any driver in it, of any kind, recovers every device of the group
 * into the group's spare thread, their data intact and their requests in flight completed; a
 * device that leaves in order (detach) leaves alone; a device cannot be put in a group it cannot
 * share; closing the runtime ends the threads. With `warmStandby`, each device's standby driver
 * waits in the spare thread, loaded.
 */
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type BlockDevice, type FailureEvent, type FaultKind, type RecoveryEvent, type Runtime } from '../../src/index.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';
import { registerSecondVersion } from '../helpers/update-subjects.js';

const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 1000, deadlineScale: 0.2 };
const threads = (): number => readdirSync('/proc/self/task').length;

/** `ram` disks in one group, each opened, block 0 written with its own content of `round`. */
async function attachGroup(rt: Runtime, group: string, names: string[], round: number, spec: Record<string, unknown> = {}): Promise<BlockDevice[]> {
  const disks: BlockDevice[] = [];
  for (const [i, name] of names.entries()) {
    const disk = await rt.attachBlock({ name, driver: 'ram', domainGroup: group, config: { sizeBytes: 16 * BLOCK }, ...spec });
    await disk.open();
    await disk.write(0, blockContent(i, round));
    disks.push(disk);
  }
  return disks;
}

/** Every failure event from now on. */
function failuresOf(rt: Runtime): FailureEvent[] {
  const failures: FailureEvent[] = [];
  rt.manager.on('failure', (e: FailureEvent) => failures.push(e));
  return failures;
}

for (const warmStandby of [false, true]) test(`devices in one group share one thread; a fault of any kind in any driver recovers them all into the spare thread${warmStandby ? ', where their standbys wait,' : ''} data and requests in flight intact`, async () => {
  const before = snapshot();
  const baseline = threads();
  const rt = createRuntime({ faultInjection: true });
  try {
    const names = ['g0', 'g1', 'g2', 'g3'];
    const disks = await attachGroup(rt, 'shelf', names, 1, { warmStandby, ...fast });
    const ready = async () => {
      await until(() => rt.manager.domainGroups()[0]?.spareBooted === true, 'the spare thread booted', 20_000);
      if (warmStandby) for (const name of names) await rt.standbyReady(name);
    };
    await ready();
    for (const name of names) {
      assert.equal(rt.status(name)!.domainGroup, 'shelf');
      assert.equal(rt.status(name)!.standby, warmStandby ? 'ready' : 'group');
    }
    // One serving thread for the four, and one spare (their standbys' too): two threads, not eight.
    
    assert.deepEqual(rt.manager.domainGroups(), [{ name: 'shelf', devices: 4, serving: 1, spare: 1, spareBooted: true }]);
    assert.equal(threads() - baseline, 2, 'threads added for four devices');
    const kinds: FaultKind[] = ['throw', 'exit', 'busy-loop', 'bad-kernel-call', 'contract', 'never-answer', 'rejection', 'memory', 'abort', 'kill'];
    for (const [round, kind] of kinds.entries()) {
      await ready();
      const recovered = names.map((name) => waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name, 20_000));
      const target = names[round % names.length]!;
      rt.inject(target, { kind });
      // A read in flight on every device: each completes with its device's data.
      const reads = disks.map((disk) => disk.read(0, BLOCK));
      const events = await Promise.all(recovered);
      for (const [i, read] of reads.entries()) assert.deepEqual(await read, blockContent(i, 1), `${kind}: ${names[i]}'s read in flight`);
      assert.ok(events.every((e) => e.warmStandby), `${kind}: every device recovered into the spare thread (${events.map((e) => `${e.device}:${e.warmStandby}`).join(' ')})`);
    }
    for (const [i, disk] of disks.entries()) assert.deepEqual(await disk.read(0, BLOCK), blockContent(i, 1));
    for (const name of names) assert.equal(rt.status(name)!.recoveries, kinds.length);
    await ready();
    assert.equal(threads() - baseline, 2, 'threads after ten recoveries');
  } finally {
    await rt.close();
  }
  await until(() => threads() === baseline, 'every thread of the group ended', 20_000);
  await expectNoLeaks(before);
});

test('a device that leaves a group in order leaves alone: the others go on in the same thread, no recovery; the last one out ends the threads', async () => {
  const before = snapshot();
  const baseline = threads();
  const rt = createRuntime();
  const failures = failuresOf(rt);
  try {
    const disks = await attachGroup(rt, 'rack', ['a', 'b', 'c'], 2);
    await rt.detach('b');
    assert.deepEqual(rt.manager.domainGroups().map((g) => [g.name, g.devices, g.serving]), [['rack', 2, 1]]);
    assert.deepEqual(await disks[0]!.read(0, BLOCK), blockContent(0, 2));
    assert.deepEqual(await disks[2]!.read(0, BLOCK), blockContent(2, 2));
    // A device joins the same thread later, and reads and writes like the others.
    const late = await rt.attachBlock({ name: 'd', driver: 'ram', domainGroup: 'rack', config: { sizeBytes: 16 * BLOCK } });
    await late.open();
    await late.write(BLOCK, blockContent(3, 2));
    assert.deepEqual(await late.read(BLOCK, BLOCK), blockContent(3, 2));
    assert.deepEqual(rt.manager.domainGroups().map((g) => [g.devices, g.serving]), [[3, 1]]);
    assert.deepEqual(failures, []);
    for (const name of ['a', 'c', 'd']) assert.equal(rt.status(name)!.recoveries, 0);
    for (const name of ['a', 'c', 'd']) await rt.detach(name);
    assert.deepEqual(rt.manager.domainGroups(), []);
    await until(() => threads() === baseline, 'the group\'s threads ended with its last device', 20_000);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a device is refused a group it cannot share, in one line: another domain, shared spares, another heap limit, a bad name', async () => {
  const before = snapshot();
  const rt = createRuntime();
  try {
    await (await rt.attachBlock({ name: 'in', driver: 'ram', domainGroup: 'g', memoryLimitMb: 64, config: { sizeBytes: 16 * BLOCK } })).open();
    const refused = [
      { name: 'p', domain: 'process' as const, domainGroup: 'g', why: /needs a worker domain/ },
      { name: 'n', recovery: 'native' as const, domainGroup: 'g', why: /needs a worker domain/ },
      { name: 's', warmStandby: 'shared' as const, domainGroup: 'g', why: /warmStandby 'shared'/ },
      { name: 'm', memoryLimitMb: 128, domainGroup: 'g', why: /heap limit of 64 MiB/ },
      { name: 'x', domainGroup: 'no spaces', why: /letters, digits/ },
    ];
    for (const { why, ...spec } of refused) {
      const err = await rt.attachBlock({ driver: 'ram', config: { sizeBytes: 16 * BLOCK }, ...spec }).then(() => undefined, (e: unknown) => e);
      assert.ok(isShadowError(err, ErrorCodes.INVALID_ARGUMENT), `${spec.name}: ${String(err)}`);
      assert.match((err as Error).message, why);
      assert.ok(!(err as Error).message.includes('\n'), 'one line');
      assert.equal(rt.status(spec.name), undefined);
    }
    assert.deepEqual(rt.manager.domainGroups().map((g) => g.devices), [1]);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a live update of one device in a group runs its new version in the same thread, and the old one leaves alone', async () => {
  const before = snapshot();
  const baseline = threads();
  const rt = createRuntime();
  const failures = failuresOf(rt);
  try {
    const v2 = registerSecondVersion(rt, 'block', 'ram');
    const disks = await attachGroup(rt, 'upd', ['u0', 'u1'], 3);
    await until(() => rt.manager.domainGroups()[0]?.spareBooted === true, 'the spare thread booted', 20_000);
    for (const to of [v2, 'ram', v2]) {
      const reads = disks.map((disk) => disk.read(0, BLOCK));
      const report = await rt.update('u0', { driver: to, probation: { requests: 1, ms: 300 } });
      assert.equal(report.outcome, 'switched', `${to}: ${report.failedIn}: ${report.cause}`);
      assert.equal(rt.status('u0')!.version, to);
      for (const [i, read] of reads.entries()) assert.deepEqual(await read, blockContent(i, 3));
      await disks[0]!.write(BLOCK, blockContent(7, 3));
      assert.deepEqual(await disks[0]!.read(BLOCK, BLOCK), blockContent(7, 3));
    }
    assert.deepEqual(await disks[1]!.read(0, BLOCK), blockContent(1, 3));
    assert.deepEqual(failures, []);
    assert.equal(rt.status('u1')!.recoveries, 0);
    assert.deepEqual(rt.manager.domainGroups().map((g) => [g.devices, g.serving, g.spare]), [[2, 1, 1]]);
    assert.equal(threads() - baseline, 2, 'no thread started for the updates');
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('the spare thread stays the group\'s when the last standby in it leaves: a device without one still recovers into it', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    await attachGroup(rt, 'mixed', ['with'], 4, { warmStandby: true });
    const [without] = await attachGroup(rt, 'mixed', ['without'], 4);
    await rt.standbyReady('with');
    await until(() => rt.manager.domainGroups()[0]?.spareBooted === true, 'the spare thread booted', 20_000);
    await rt.detach('with'); // its driver leaves the serving thread, its standby the spare thread
    assert.deepEqual(rt.manager.domainGroups().map((g) => [g.devices, g.serving, g.spare]), [[1, 1, 1]]);
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'without', 20_000);
    rt.inject('without', { kind: 'exit' });
    assert.equal((await recovered).warmStandby, true, 'recovered into the started spare thread');
    assert.deepEqual(await without!.read(0, BLOCK), blockContent(0, 4));
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
