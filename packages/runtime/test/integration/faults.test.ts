/**
 * Every fault kind, in worker and process domains, through the real boundary: the application
 * keeps requests in flight across the failure and must see no error, the data must be intact,
 * the device object must be the same object, and nothing may leak.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createRuntime, type FaultKind, type RecoveryEvent } from '../../src/index.js';
import { allFaultKinds, faultKinds } from '../../src/faults/fault-kinds.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BlockWorkload } from '../../src/testing/workload.js';

const expectedCause: Record<FaultKind, RecoveryEvent['cause'][]> = {
  exit: ['exit'], abort: ['exit'], kill: ['exit'], throw: ['exception'], rejection: ['rejection'],
  // A spinning driver misses both its heartbeat and the deadline of the call in flight.
  'busy-loop': ['no-heartbeat', 'hang'], 'never-answer': ['hang'],
  // A heap at its limit spends its time in garbage collection: on a loaded machine the
  // heartbeat may notice before the out-of-memory death does. Both are correct detections.
  memory: ['memory', 'no-heartbeat'],
  'bad-kernel-call': ['bad-kernel-call'], contract: ['contract'],
  // A real SIGSEGV in native code: the process dies of the signal.
  segfault: ['exit'],
};

for (const domain of ['worker', 'process'] as const) {
  describe(`fault kinds in a ${domain} domain`, () => {
    for (const kind of domain === 'process' ? allFaultKinds : faultKinds) {
      test(`${kind}: the application sees nothing`, async () => {
        const before = snapshot();
        const rt = createRuntime({ faultInjection: true });
        try {
          const disk = await rt.attachBlock({
            name: `disk-${kind}`, driver: 'ram', domain, config: { sizeBytes: 256 * 4096 },
            heartbeatMs: 50, heartbeatTimeoutMs: 1000, deadlineScale: 0.3, memoryLimitMb: 32,
          });
          const device = rt.kernel.device(`disk-${kind}`);
          await disk.open();
          const app = new BlockWorkload(disk, 256);
          await app.fill();
          const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === `disk-${kind}`, 20_000);
          let done = false;
          const running = app.run(8, () => done);
          rt.inject(`disk-${kind}`, { kind });
          const event = await recovered.finally(() => { done = true; });
          await running;
          const completedBefore = app.completed;
          done = false;
          await app.run(8, () => app.completed >= completedBefore + 200);
          await app.verifyAll();
          assert.deepEqual(app.errors, [], 'application-visible errors');
          assert.equal(app.mismatches, 0, 'data differs from the model');
          assert.ok(expectedCause[kind].includes(event.cause), `recovered from ${event.cause}, expected ${expectedCause[kind]}`);
          assert.equal(rt.kernel.device(`disk-${kind}`), device, 'the kernel device object changed');
          assert.equal(rt.block(device!), disk, 'the block device object changed');
          assert.equal(rt.status(`disk-${kind}`)!.recoveries, 1);
        } finally {
          await rt.close();
        }
        await expectNoLeaks(before);
      });
    }
  });
}

test('fault injection is opt-in: without it inject() is refused with a code, and the domain carries no injector', async () => {
  const before = snapshot();
  const rt = createRuntime();
  try {
    const disk = await rt.attachBlock({ name: 'plain', driver: 'ram', config: { sizeBytes: 1 << 20 } });
    await disk.open();
    assert.throws(() => rt.inject('plain', { kind: 'throw' }), (err: Error & { code?: string }) => err.code === 'SD_ERR_NOT_SUPPORTED');
    await disk.write(0, new Uint8Array(4096).fill(7));
    assert.equal((await disk.read(0, 4096))[0], 7);
    assert.equal(rt.status('plain')!.recoveries, 0);
  } finally {
    await rt.close();
  }
  const drills = createRuntime({ faultInjection: true });
  try {
    await drills.attachBlock({ name: 'drilled', driver: 'ram', config: { sizeBytes: 1 << 20 } });
    assert.throws(() => drills.inject('drilled', { kind: 'nosuch' as FaultKind }), (err: Error & { code?: string }) => err.code === 'SD_ERR_INVALID_ARGUMENT');
    assert.throws(() => drills.inject('nodevice', { kind: 'throw' }), (err: Error & { code?: string }) => err.code === 'SD_ERR_NOT_FOUND');
    // A SIGSEGV in a worker thread would end the host: refused, and the driver keeps running.
    assert.throws(() => drills.inject('drilled', { kind: 'segfault' }), (err: Error & { code?: string }) => err.code === 'SD_ERR_NOT_SUPPORTED');
    assert.equal(drills.status('drilled')!.state, 'running');
  } finally {
    await drills.close();
  }
  await expectNoLeaks(before);
});

test('each lifecycle transition of a device is published, in order: started, recovering, recovered, closed', async () => {
  const rt = createRuntime({ faultInjection: true });
  const seen: string[] = [];
  rt.manager.on('state', (e: { device: string; from: string; to: string }) => { if (e.device === 'life') seen.push(`${e.from}>${e.to}`); });
  try {
    const disk = await rt.attachBlock({ name: 'life', driver: 'ram', config: { sizeBytes: 1 << 20 } });
    await disk.open();
    const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'life');
    rt.inject('life', { kind: 'throw' });
    await recovered;
    await rt.detach('life');
    assert.deepEqual(seen, ['starting>running', 'running>recovering', 'recovering>running', 'running>closed']);
  } finally {
    await rt.close();
  }
});
