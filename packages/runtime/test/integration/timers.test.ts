/**
 * Callbacks a driver registers with the kernel (timers, interrupt-like events) cross the
 * boundary through the taps, and the object tracker releases them when the driver fails:
 * the old instance's timer never fires again, the new one registers its own.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type RecoveryEvent } from '../../src/index.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';
import { kManaged } from '../../src/manager/shadow-manager.js';

for (const domain of ['worker', 'process'] as const) {
  test(`interrupt-driven flushes keep working across a failure (${domain})`, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    try {
      const disk = await rt.attachBlock({
        name: 'irq', driver: new URL('../fixtures/drivers/interrupt.js', import.meta.url).href, domain,
        config: { tickMs: 5 }, resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
      });
      await disk.open();
      await disk.write(0, blockContent(0, 1));
      await disk.flush();
      const managed = rt.manager[kManaged]('irq')!;
      const first = managed.current;
      assert.equal(first.tracker.count('timer'), 1);
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
      const flushes = Promise.all([disk.flush(), disk.flush()]);
      rt.inject('irq', { kind: 'kill' });
      await recovered;
      await flushes;
      assert.notEqual(managed.current, first);
      assert.equal(first.tracker.count(), 0, 'the failed instance holds nothing');
      assert.equal(managed.current.tracker.count('timer'), 1, 'the new instance registered its own timer');
      await until(() => managed.current.tracker.count('timer') === 1, 'timer');
      await disk.write(BLOCK, blockContent(1, 1));
      await disk.flush();
      assert.deepEqual(await disk.read(BLOCK, BLOCK), blockContent(1, 1));
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}
