/**
 * Reads the kernel copies out of device memory itself (EntryPoint.readsFrom): a driver answers
 * `{ from, at }` and the caller gets the bytes at `at`, in a thread (the memory is shared) and
 * in a process (the kernel reads its own descriptor of the tmpfs medium). A bad answer (past the
 * end, a negative or fractional offset, a resource the device lacks or the driver gave back) is
 * that driver's contract failure; the host and the device's data live on.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createRuntime, type FailureEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { answers, ATTACKED } from '../fixtures/drivers/read-at.js';

const driver = new URL('../fixtures/drivers/read-at.js', import.meta.url).href;
const block = (n: number) => new Uint8Array(4096).fill(n);

for (const domain of ['worker', 'process'] as const) {
  describe(`a read answered from device memory (${domain} domain)`, () => {
    test('the kernel copies from where the driver says', async () => {
      const before = snapshot();
      const rt = createRuntime();
      try {
        const disk = await rt.attachBlock({ name: 'd', driver, domain, config: { answer: 'shifted', sizeBytes: 1 << 20 },
          resources: [{ name: 'medium', memoryBytes: 1 << 20 }] });
        await disk.open();
        for (let i = 0; i < 4; i++) await disk.write(i * 4096, block(i + 1));
        // The read at 8192 is answered with the block after it: the kernel's copy follows `at`.
        assert.deepEqual(await disk.read(ATTACKED, 4096), block(4));
        const into = new Uint8Array(4096);
        assert.equal(await disk.read(ATTACKED, 4096, into), into, 'the bytes land in the caller\'s own buffer');
        assert.deepEqual(into, block(4));
        assert.deepEqual(await disk.read(4096, 4096), block(2), 'other reads are the driver\'s');
        assert.equal(rt.status('d')!.recoveries, 0);
      } finally {
        await rt.close();
      }
      await expectNoLeaks(before);
    });

    for (const answer of Object.keys(answers).filter((a) => a !== 'shifted')) {
      test(`${answer}: a contract failure of the driver; the host and the data live on`, async () => {
        const before = snapshot();
        const rt = createRuntime();
        try {
          const disk = await rt.attachBlock({ name: 'd', driver, domain, config: { answer, sizeBytes: 1 << 20 },
            resources: [{ name: 'medium', memoryBytes: 1 << 20 }] });
          await disk.open();
          await disk.write(0, block(7));
          const failure = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === 'd', 30_000);
          // Resubmitted, the read breaks each new driver the same way, until it is quarantined.
          const attacked = disk.read(ATTACKED, 4096).then(() => 'done', (err: { code?: string }) => err.code);
          const seen = await failure;
          assert.equal(seen.kind, 'contract', seen.message);
          assert.match(seen.message, /^read answered /);
          assert.equal(await attacked, 'SD_ERR_POISON_REQUEST');
          assert.deepEqual(await disk.read(0, 4096), block(7), 'the device serves on, its data intact');
        } finally {
          await rt.close();
        }
        await expectNoLeaks(before);
      });
    }
  });
}
