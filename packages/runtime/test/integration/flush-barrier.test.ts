/**
 * A flush covers the writes issued before it, not only those completed: a caller may send its
 * writes and the flush at once (one crossing for a sync) and the domain starts the flush only
 * once every call sent before it was answered. In every domain, and after a recovery.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type DomainKind, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const fixture = new URL('../fixtures/drivers/slow-write.js', import.meta.url).href;
const BLOCK = 4096;

for (const domain of ['none', 'worker', 'process'] as DomainKind[]) {
  test(`${domain} domain: a flush sent with writes still under way waits for them`, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    try {
      const disk = await rt.attachBlock({
        name: `barrier-${domain}`, driver: fixture, domain, recovery: domain === 'none' ? 'native' : 'shadow',
        config: { latencyMs: 20 }, resources: [{ name: 'medium', memoryBytes: 64 * BLOCK }],
      });
      await disk.open();
      const sync = async (round: number) => {
        const writes = [0, 1, 2].map((b) => disk.write((round * 3 + b) * BLOCK, new Uint8Array(BLOCK).fill(round * 3 + b + 1)));
        await Promise.all([...writes, disk.flush()]);
      };
      await sync(0);
      if (domain !== 'none') {
        const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
        rt.inject(`barrier-${domain}`, { kind: 'exit' });
        await recovered;
      }
      await sync(1);
      for (let b = 0; b < 6; b++) assert.deepEqual(await disk.read(b * BLOCK, BLOCK), new Uint8Array(BLOCK).fill(b + 1));
      assert.equal((await disk.stats()).flushes, 2);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}
