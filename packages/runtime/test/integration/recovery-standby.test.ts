/**
 * Warm standbys are replaced when they die idle (killed from outside, out of memory), under the
 * restart policy's backoff; a spare that keeps dying is not replaced in a loop. Every driver
 * instance, whatever ends it, is retired: its domain stopped and what it held released.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, type Runtime, type RecoveryEvent } from '../../src/index.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';

const fixture = (name: string) => new URL(`../fixtures/drivers/${name}.js`, import.meta.url).href;

/** The pid of the device's loaded spare, once there is one. */
async function sparePid(rt: Runtime, name: string): Promise<number> {
  await rt.standbyReady(name);
  const pid = rt.status(name)!.standbyPid;
  assert.ok(pid !== undefined, 'a ready standby in a process domain shows its pid');
  return pid;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('a standby SIGKILLed from outside is replaced; the next recovery is warm', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'spare', driver: 'ram', domain: 'process', warmStandby: true, config: { sizeBytes: 16 * BLOCK },
    });
    await disk.open();
    await disk.write(0, blockContent(0, 1));
    const first = await sparePid(rt, 'spare');
    assert.notEqual(first, rt.status('spare')!.pid, 'the spare is its own process');
    process.kill(first, 'SIGKILL');
    await until(() => !alive(first) && rt.status('spare')!.standbyPid !== first, 'the dead spare noticed');
    const second = await sparePid(rt, 'spare');
    assert.notEqual(second, first, 'a new spare process');
    assert.equal(rt.status('spare')!.standby, 'ready');
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('spare', { kind: 'exit' });
    const event = await recovered;
    assert.equal(event.warmStandby, true, 'recovery used the replacement spare');
    assert.equal(rt.status('spare')!.pid, second, 'the replacement spare became the driver');
    assert.deepEqual(await disk.read(0, BLOCK), blockContent(0, 1));
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

test('a spare that keeps dying stops being replaced, status says why, recovery still works cold', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({
      name: 'doomed-spare', driver: 'ram', domain: 'process', warmStandby: true, config: { sizeBytes: 16 * BLOCK },
      restart: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5, stableAfterMs: 60_000 },
    });
    await disk.open();
    const killed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const pid = await sparePid(rt, 'doomed-spare');
      assert.ok(!killed.includes(pid));
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
      await until(() => rt.status('doomed-spare')!.standbyPid !== pid, `spare ${i + 1} noticed dead`);
    }
    await until(() => rt.status('doomed-spare')!.standby === 'gave-up', 'no more spares');
    assert.match(rt.status('doomed-spare')!.standbyReason!, /3 standbys in a row died/);
    await assert.rejects(rt.standbyReady('doomed-spare'), /keeps no standby/);
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
    rt.inject('doomed-spare', { kind: 'exit' });
    await disk.write(0, blockContent(0, 2));
    assert.equal((await recovered).warmStandby, false);
    assert.deepEqual(await disk.read(0, BLOCK), blockContent(0, 2));
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});

for (const domain of ['worker', 'process'] as const) {
  test(`a driver that fails at start after setting a repeating timer is retired before the fallback starts (${domain})`, async () => {
    const before = snapshot();
    const dir = mkdtempSync(join(tmpdir(), 'shadow-retire-'));
    const rt = createRuntime({ faultInjection: true });
    try {
      const failures: unknown[] = [];
      rt.manager.on('failure', (e) => failures.push(e));
      const disk = await rt.attachBlock({
        name: 'fallback', driver: fixture('flaky-init'), fallbackDriver: fixture('flaky-init').replace('.js', '.js?fallback'), domain,
        config: { counterPath: join(dir, 'starts'), failStarts: [0], timerFirst: true },
        resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
        sandbox: { allowFsRead: [dir], allowFsWrite: [dir] },
      });
      assert.equal(failures.length, 1, 'the failed start is published once');
      await disk.open();
      await disk.write(0, blockContent(0, 1));
      assert.deepEqual(await disk.read(0, BLOCK), blockContent(0, 1));
    } finally {
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // The failed instance's repeating timer is an active Timeout: it must be gone.
    await expectNoLeaks(before);
  });
}
