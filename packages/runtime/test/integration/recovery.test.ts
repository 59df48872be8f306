/**
 * Recovery beyond a single fault: poison requests, give-up, failures during recovery,
 * simultaneous failures, honest outcomes for non-idempotent requests, restart-only recovery,
 * warm standby.
 */
import { strict as assert } from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, registerClass, type GaveUpEvent, type QuarantineEvent, type RecoveryEvent } from '../../src/index.js';
import { counterClass } from '../fixtures/counter-class.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload, blockContent } from '../../src/testing/workload.js';
import { kManaged } from '../../src/manager/shadow-manager.js';

const fixture = (name: string) => new URL(`../fixtures/drivers/${name}.js`, import.meta.url).href;
const scratch = () => mkdtempSync(join(tmpdir(), 'shadow-test-'));

test('a request that kills the driver every time is quarantined; the others are served', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'poisoned', driver: fixture('poison'), config: { sizeBytes: 64 * BLOCK, poisonOffset: 63 * BLOCK },
      restart: { intensity: 20 }, resources: [{ name: 'medium', memoryBytes: 64 * BLOCK }],
    });
    await disk.open();
    const app = new BlockWorkload(disk, 63); // block 63 is the poison one
    await app.fill();
    const quarantined = waitForEvent<QuarantineEvent>(rt.manager, 'quarantine');
    const poison = disk.read(63 * BLOCK, BLOCK).then(() => 'served', (e: unknown) => e);
    const others = Promise.all([1, 2, 3, 8, 9].map((b) => disk.read(b * BLOCK, BLOCK)));
    const error = await poison;
    assert.ok(isShadowError(error, ErrorCodes.POISON_REQUEST), `poison read ended with ${String(error)}`);
    assert.equal(error.outcome, 'not-executed', 'a read has no effect to report');
    const event = await quarantined;
    assert.equal(event.entry, 'read');
    assert.equal(event.failures, 3);
    for (const [i, b] of [1, 2, 3, 8, 9].entries()) assert.deepEqual((await others)[i], blockContent(b, 1));
    // The same request again fails fast: the driver is not crashed three more times.
    let failures = 0;
    rt.manager.on('failure', () => failures++);
    const again = await disk.read(63 * BLOCK, BLOCK).then(() => 'served', (e: unknown) => e);
    assert.ok(isShadowError(again, ErrorCodes.POISON_REQUEST), `repeated poison read ended with ${String(again)}`);
    assert.equal(failures, 0);
    // The driver keeps serving everything else.
    await app.run(4, () => app.completed >= 200);
    await app.verifyAll();
    assert.deepEqual(app.errors, []);
    assert.equal(app.mismatches, 0);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('when the restart budget is spent the device gives up: calls fail fast with a code, none hangs', async () => {
  const before = snapshot();
  const dir = scratch();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'doomed', driver: fixture('flaky-init'),
      config: { counterPath: join(dir, 'starts'), failEveryRestart: true },
      resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
      restart: { intensity: 3, periodMs: 60_000, baseDelayMs: 1, maxDelayMs: 5 },
    });
    await disk.open();
    await disk.write(0, blockContent(0, 1));
    const failures: unknown[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    const gaveUp = waitForEvent<GaveUpEvent>(rt.manager, 'gave-up');
    rt.inject('doomed', { kind: 'exit' });
    const waiting = disk.read(0, BLOCK).then(() => 'served', (e: unknown) => e);
    const event = await gaveUp;
    assert.match(event.reason, /intensity 3/);
    assert.equal(failures.length, 4, 'the first failure and three failed re-initializations');
    const error = await waiting;
    assert.ok(isShadowError(error, ErrorCodes.GAVE_UP), `waiting read ended with ${String(error)}`);
    assert.equal(error.outcome, 'not-executed');
    const late = await disk.read(0, BLOCK).then(() => 'served', (e: unknown) => e);
    assert.ok(isShadowError(late, ErrorCodes.GAVE_UP));
    assert.equal(disk.device.status, 'gave-up');
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});

test('a driver that fails while being re-initialized makes recovery start over, unseen by the application', async () => {
  const before = snapshot();
  const dir = scratch();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'flaky', driver: fixture('flaky-init'), domain: 'process',
      config: { counterPath: join(dir, 'starts'), failStarts: [1, 2] },
      sandbox: { allowFsRead: [dir], allowFsWrite: [dir] },
      resources: [{ name: 'medium', memoryBytes: 32 * BLOCK }],
    });
    await disk.open();
    const app = new BlockWorkload(disk, 32);
    await app.fill();
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    let done = false;
    const running = app.run(4, () => done);
    rt.inject('flaky', { kind: 'throw' });
    const event = await recovered.finally(() => { done = true; });
    await running;
    assert.equal(event.attempts, 3, 'two failed re-initializations, then success');
    // The pause the application saw covers all three attempts and their backoff, not the last one only.
    assert.ok(event.pauseMs >= event.totalMs + (event.phases.backoff ?? 0) - 1, `pause ${event.pauseMs} ms, work ${event.totalMs} ms`);
    assert.ok((event.phases.backoff ?? 0) > 0, 'the backoff between attempts is counted');
    assert.equal(event.cause, 'exception');
    await app.verifyAll();
    assert.deepEqual(app.errors, []);
    assert.equal(app.mismatches, 0);
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});

test('several drivers failing at once recover independently', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const names = ['a', 'b', 'c'];
    const disks = await Promise.all(names.map((name, i) => rt.attachBlock({
      name, driver: 'ram', domain: i === 1 ? 'process' : 'worker', config: { sizeBytes: 32 * BLOCK },
    })));
    const apps = disks.map((d) => new BlockWorkload(d, 32, 7));
    for (const d of disks) await d.open();
    for (const a of apps) await a.fill();
    const events = names.map((n) => waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === n));
    let done = false;
    const running = apps.map((a) => a.run(4, () => done));
    for (const n of names) rt.inject(n, { kind: 'kill' });
    const seen = await Promise.all(events).finally(() => { done = true; });
    await Promise.all(running);
    assert.deepEqual(seen.map((e) => e.device).sort(), names);
    for (const a of apps) {
      await a.verifyAll();
      assert.deepEqual(a.errors, []);
      assert.equal(a.mismatches, 0);
    }
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a non-idempotent request in flight is not resubmitted: it fails with an honest outcome', async () => {
  registerClass(counterClass);
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const counter = await rt.attach({ name: 'counter', className: 'counter', driver: fixture('counter') });
    assert.equal(await counter.call('increment', { by: 1 }), 1);
    const inFlight = counter.call('increment', { by: 10, holdMs: 60_000 }).then(() => 'completed', (e: unknown) => e);
    const query = counter.call('get', {});
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('counter', { kind: 'exit' });
    const error = await inFlight;
    assert.ok(isShadowError(error, ErrorCodes.NOT_RESUBMITTED), `in-flight increment ended with ${String(error)}`);
    assert.equal(error.outcome, 'indeterminate', 'it may or may not have happened: say so');
    assert.equal(typeof (await query), 'number', 'the idempotent query was resubmitted');
    await recovered;
    assert.equal(await counter.call('increment', { by: 2 }), 2, 'a fresh driver counts from zero; nothing was replayed twice');
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('restart-only recovery loses configuration and in-flight calls; the shadow keeps both', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const outcomes: Record<string, { errors: string[]; event: RecoveryEvent }> = {};
    for (const recovery of ['restart', 'shadow'] as const) {
      const name = `disk-${recovery}`;
      const disk = await rt.attachBlock({ name, driver: 'ram', recovery, config: { sizeBytes: 64 * BLOCK } });
      await disk.open();
      await disk.configure('writeCache', 'writethrough');
      const app = new BlockWorkload(disk, 64);
      await app.fill();
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name);
      const inFlight = Promise.allSettled(Array.from({ length: 16 }, (_, b) => disk.read(b * BLOCK, BLOCK)));
      rt.inject(name, { kind: 'exit' });
      const results = await inFlight;
      const event = await recovered;
      const after = await disk.read(0, BLOCK).then(() => 'ok', (e: unknown) => (isShadowError(e) ? e.code : String(e)));
      const errors: string[] = results.flatMap((r) => (r.status === 'rejected' && isShadowError(r.reason) ? [r.reason.code] : []));
      outcomes[recovery] = { errors: [...new Set(errors)].concat(after === 'ok' ? [] : [`after:${after}`]), event };
    }
    assert.deepEqual(outcomes.shadow!.errors, []);
    assert.equal(outcomes.shadow!.event.replayed, 2, 'open and the write-cache setting were replayed');
    assert.ok(outcomes.restart!.errors.includes(`after:${ErrorCodes.NOT_OPEN}`), `restart-only: ${outcomes.restart!.errors}`);
    assert.equal(outcomes.restart!.event.mode, 'restart');
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a warm standby domain takes over without a cold start; recoveries are published on diagnostics_channel', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  const published: RecoveryEvent[] = [];
  const onRecovery = (message: unknown) => { published.push(message as RecoveryEvent); };
  diagnostics.subscribe('shadow-drivers:recovery', onRecovery);
  try {
    const disk = await rt.attachBlock({ name: 'warm', driver: 'ram', warmStandby: true, config: { sizeBytes: 16 * BLOCK } });
    await disk.open();
    for (let round = 0; round < 3; round++) {
      await waitForStandby(rt, 'warm');
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
      rt.inject('warm', { kind: 'exit' });
      await disk.write(0, blockContent(0, round));
      const event = await recovered;
      assert.equal(event.warmStandby, true, `round ${round} used a cold start`);
      assert.deepEqual(await disk.read(0, BLOCK), blockContent(0, round));
    }
    assert.equal(published.filter((e) => e.device === 'warm').length, 3);
    for (const e of published) {
      const phases = Object.keys(e.phases).filter((p) => p !== 'backoff'); // backoff only after a quick repeat
      assert.deepEqual(phases, ['stop', 'release', 'restart', 'reinit', 'replay', 'resubmit', 'resume']);
      assert.equal(e.cause, 'exit');
      assert.ok(e.totalMs > 0);
    }
  } finally {
    diagnostics.unsubscribe('shadow-drivers:recovery', onRecovery);
    await rt.close();
  }
  await expectNoLeaks(before);
});

async function waitForStandby(rt: ReturnType<typeof createRuntime>, name: string): Promise<void> {
  // The next spare is started just after a recovery (and again if a start failed).
  await until(() => rt.manager[kManaged](name)!.standbyReady !== undefined &&
    rt.manager[kManaged](name)!.standbyReady === rt.manager[kManaged](name)!.standby, 'a loaded standby');
}

test('detaching a device in the middle of recovery: waiting calls fail with SD_ERR_CLOSED and nothing leaks', async () => {
  const before = snapshot();
  const dir = scratch();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'leaving', driver: fixture('flaky-init'), domain: 'process',
      config: { counterPath: join(dir, 'starts'), failEveryRestart: true },
      resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
      sandbox: { allowFsRead: [dir], allowFsWrite: [dir] },
      restart: { intensity: 100, baseDelayMs: 1, maxDelayMs: 2 },
    });
    await disk.open();
    const failures: unknown[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    rt.inject('leaving', { kind: 'exit' });
    const waiting = disk.read(0, BLOCK).then(() => 'served', (e: unknown) => e);
    // Recovery keeps failing in re-initialization; detach while it is under way.
    await waitForEvent(rt.manager, 'failure', () => failures.length >= 3);
    await rt.detach('leaving');
    const error = await waiting;
    assert.ok(isShadowError(error, ErrorCodes.CLOSED), `waiting read ended with ${String(error)}`);
    assert.equal(error.outcome, 'not-executed');
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});

test('a fallback driver: a driver that crashes on a request is replaced by the fallback, which serves it; the data stays', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const failures: unknown[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    const disk = await rt.attachBlock({
      name: 'updated', driver: fixture('poison'), fallbackDriver: 'ram', warmStandby: true,
      config: { sizeBytes: 16 * BLOCK, poisonOffset: 5 * BLOCK }, resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
    });
    await disk.open();
    const app = new BlockWorkload(disk, 16);
    await app.fill();
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    // The poison driver dies on this read every time; the fallback (ram) has no such bug.
    assert.deepEqual(await disk.read(5 * BLOCK, BLOCK), blockContent(5, 1));
    assert.equal((await recovered).cause, 'exit');
    assert.equal(failures.length, 1, 'one failure: the recovery loaded the fallback, which did not fail again');
    await app.verifyAll();
    assert.deepEqual(await disk.read(5 * BLOCK, BLOCK), blockContent(5, 1));
    assert.equal(failures.length, 1);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a fallback driver: a driver that fails to start is replaced by the fallback at attach; the failure is published once', async () => {
  const before = snapshot();
  const dir = scratch();
  const rt = createRuntime({ faultInjection: true });
  try {
    const failures: { call: string | undefined }[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    const disk = await rt.attachBlock({
      name: 'fresh', driver: fixture('flaky-init'), fallbackDriver: 'ram',
      config: { counterPath: join(dir, 'starts'), failStarts: [0], sizeBytes: 8 * BLOCK }, resources: [{ name: 'medium', memoryBytes: 8 * BLOCK }],
    });
    assert.equal(failures.length, 1, 'the failed start is one failure');
    await disk.open();
    const app = new BlockWorkload(disk, 8);
    await app.fill();
    await app.verifyAll();
    // Without a fallback the same driver fails to attach, with a code.
    const error = await rt.attachBlock({
      name: 'stale', driver: fixture('flaky-init'),
      config: { counterPath: join(dir, 'other'), failStarts: [0] }, resources: [{ name: 'medium', memoryBytes: 8 * BLOCK }],
    }).then(() => 'attached', (e: unknown) => e);
    assert.ok(isShadowError(error, ErrorCodes.DRIVER_FAILED), String(error));
    assert.equal(failures.length, 2);
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});

test('a driver that answers "no device" for a disk the kernel opened has lost its state: a contract breach, recovered', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const failures: { kind: string; message: string }[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    const disk = await rt.attachBlock({
      name: 'amnesiac', driver: fixture('amnesiac'), config: { sizeBytes: 16 * BLOCK, forgetAfterReads: 4 },
      resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
    });
    await disk.open();
    const app = new BlockWorkload(disk, 16);
    await app.fill();
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    for (let b = 0; b < 6; b++) assert.deepEqual(await disk.read(b * BLOCK, BLOCK), blockContent(b, 1), `block ${b}`);
    assert.equal((await recovered).cause, 'contract');
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.message, /read answered ENODEV .* the driver lost its own state/);
    // Native: the breach is detected, but nothing recovers: the application gets the failure.
    const native = await rt.attachBlock({
      name: 'plain', driver: fixture('amnesiac'), recovery: 'native', config: { sizeBytes: 8 * BLOCK, forgetAfterReads: 0 },
      resources: [{ name: 'medium', memoryBytes: 8 * BLOCK }],
    });
    await native.open();
    const error = await native.read(0, BLOCK).then(() => 'served', (e: unknown) => e);
    assert.ok(error instanceof Error && /read answered ENODEV/.test(error.message), String(error));
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a recovery whose new drivers keep failing gives up after maxAttempts restarts in a row, whatever the budget', async () => {
  const before = snapshot();
  const dir = scratch();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'relapsing', driver: fixture('flaky-init'),
      config: { counterPath: join(dir, 'starts'), failEveryRestart: true },
      resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
      // A budget the backoff never exhausts: only the cap on attempts ends the recovery.
      restart: { intensity: 1000, periodMs: 60_000, baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 4 },
    });
    await disk.open();
    const failures: unknown[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    const gaveUp = waitForEvent<GaveUpEvent>(rt.manager, 'gave-up');
    rt.inject('relapsing', { kind: 'exit' });
    const waiting = disk.read(0, BLOCK).then(() => 'served', (e: unknown) => e);
    assert.match((await gaveUp).reason, /4 restarts in a row failed before the driver served again \(maxAttempts 4\)/);
    assert.equal(failures.length, 5, 'the first failure and four failed re-initializations');
    assert.ok(isShadowError(await waiting, ErrorCodes.GAVE_UP));
  } finally {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});

test('a driver that initializes without registering its device breaks the class contract: it does not attach', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const failures: { kind: string; message: string }[] = [];
    rt.manager.on('failure', (e) => failures.push(e));
    const spec = { name: 'silent', driver: fixture('unregistered'), resources: [{ name: 'medium', memoryBytes: 8 * BLOCK }] };
    const error = await rt.attachBlock(spec).then(() => 'attached', (e: unknown) => e);
    assert.ok(isShadowError(error, ErrorCodes.DRIVER_FAILED), String(error));
    assert.match((error as Error).message, /init completed without registering the device/);
    // With a fallback, the fallback starts instead and the device serves.
    const disk = await rt.attachBlock({ ...spec, name: 'rescued', fallbackDriver: 'ram', config: { sizeBytes: 8 * BLOCK } });
    await disk.open();
    await disk.write(0, blockContent(0, 1));
    assert.deepEqual(await disk.read(0, BLOCK), blockContent(0, 1));
    assert.deepEqual(failures.map((f) => f.kind), ['contract'], 'the fallback\'s start counts the first driver\'s failure once');
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
