/**
 * A driver that leaks Buffers grows memory its heap limit does not bound: in a worker domain,
 * the kernel's own process. Its domain sees its buffers pass memoryLimitMb + 192 MiB and reports
 * a `memory` failure; the device recovers with its data, and the leak goes with the old domain.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type DomainKind, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const fixture = new URL('../fixtures/drivers/buffer-hoard.js', import.meta.url).href;
const BLOCK = 4096;
const DEADLINE_MS = 30_000;

for (const [label, domain, group] of [['worker', 'worker', false], ['process', 'process', false], ['domain group', 'worker', true]] as [string, DomainKind, boolean][]) {
  test(`${label}: a driver holding Buffers past memoryLimitMb + 192 MiB fails with "memory" and its device recovers`, async () => {
    const before = snapshot();
    const rt = createRuntime({});
    try {
      const name = `hoard-${label.replace(' ', '-')}`;
      const disk = await rt.attachBlock({
        name, driver: fixture, domain, recovery: 'shadow', memoryLimitMb: 16, ...(group ? { domainGroup: 'hoarders' } : {}),
        // 16 MiB more per write, to 240: past the 208 MiB its heap limit of 16 allows outside the heap.
        config: { hoardMiB: 16, hoardMaxMiB: 240 }, resources: [{ name: 'medium', memoryBytes: 64 * BLOCK }],
      });
      await disk.open();
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', () => true, DEADLINE_MS);
      let done = false;
      void recovered.finally(() => { done = true; }).catch(() => undefined);
      // Writes until the domain has reported it: each one hoards (to the cap) and lets the domain look.
      let written = 0;
      const deadline = performance.now() + DEADLINE_MS;
      while (!done && performance.now() < deadline) {
        await disk.write((written % 64) * BLOCK, new Uint8Array(BLOCK).fill((written % 250) + 1));
        written++;
      }
      const event = await recovered;
      assert.equal(event.cause, 'memory', event.message);
      assert.match(event.message, /outside its heap, past its limit of 208 MiB/);
      // The shadow kept the device: every block written is there, written through the new driver's domain.
      for (let b = 0; b < Math.min(written, 64); b++) {
        const last = b + 64 * Math.floor((written - 1 - b) / 64);
        assert.deepEqual(await disk.read(b * BLOCK, BLOCK), new Uint8Array(BLOCK).fill((last % 250) + 1), `block ${b}`);
      }
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}
