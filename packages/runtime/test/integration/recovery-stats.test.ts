/**
 * Statistics never go backwards: a fresh driver counts from zero, and the shadow adds what
 * every earlier instance answered and what crossed the boundary since its last answer.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const KiB64 = 64 * 1024;

test('block statistics count every request across two driver failures, exactly', async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    const disk = await rt.attachBlock({ name: 'counted', driver: 'ram', domain: 'worker', config: { sizeBytes: 16 * KiB64 } });
    await disk.open();
    const data = new Uint8Array(KiB64).fill(7);
    for (let i = 0; i < 3; i++) await disk.write(i * KiB64, data);
    await disk.read(0, 4096);
    const first = await disk.stats();
    assert.equal(first.writes, 3);
    assert.equal(first.bytesWritten, 3 * KiB64);
    // After the driver's last answer: only the shadow saw these before the failure.
    await disk.write(5 * KiB64, data);
    await disk.read(0, KiB64);
    await disk.flush();
    for (const kind of ['throw', 'exit'] as const) {
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
      rt.inject('counted', { kind });
      await recovered;
    }
    await disk.discard(0, KiB64);
    const after = await disk.stats();
    assert.equal(after.writes, 4);
    assert.equal(after.bytesWritten, 4 * KiB64);
    assert.equal(after.reads, 2);
    assert.equal(after.bytesRead, 4096 + KiB64);
    assert.equal(after.flushes, 1);
    assert.equal(after.discards, 1);
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
