/**
 * Reads and writes the kernel copies to and from device memory itself (EntryPoint.readsFrom,
 * writesTo): a driver answers `{ from, at }` or `{ to, at }` and the bytes move at `at`, in a
 * thread (the memory is shared) and in a process (the kernel maps the sealed medium). A bad
 * answer (past the end, a negative or fractional offset, a resource the device lacks or the
 * driver gave back) is that driver's contract failure; the host and the device's data live on.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createRuntime, type FailureEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { answers, ATTACKED } from '../fixtures/drivers/kernel-copies.js';

const driver = new URL('../fixtures/drivers/kernel-copies.js', import.meta.url).href;
const block = (n: number) => new Uint8Array(4096).fill(n);
const attach = (rt: ReturnType<typeof createRuntime>, domain: 'worker' | 'process', answer: string) =>
  rt.attachBlock({ name: 'd', driver, domain, config: { answer, sizeBytes: 1 << 20 }, resources: [{ name: 'medium', memoryBytes: 1 << 20 }] });

for (const domain of ['worker', 'process'] as const) {
  describe(`requests the kernel copies for the driver (${domain} domain)`, () => {
    test('the kernel copies from and to where the driver says', async () => {
      const before = snapshot();
      const rt = createRuntime();
      try {
        const disk = await attach(rt, domain, 'shifted');
        await disk.open();
        for (let i = 0; i < 4; i++) if (i * 4096 !== ATTACKED) await disk.write(i * 4096, block(i + 1));
        // The read at 8192 is answered with the block after it: the kernel's copy follows `at`.
        assert.deepEqual(await disk.read(ATTACKED, 4096), block(4));
        const into = new Uint8Array(4096);
        assert.equal(await disk.read(ATTACKED, 4096, into), into, 'the bytes land in the caller\'s own buffer');
        assert.deepEqual(into, block(4));
        // The write at 8192 lands in the block after it.
        await disk.write(ATTACKED, block(9));
        assert.deepEqual(await disk.read(ATTACKED + 4096, 4096), block(9));
        assert.deepEqual(await disk.read(4096, 4096), block(2), 'other requests are the driver\'s');
        assert.equal(rt.status('d')!.recoveries, 0);
      } finally {
        await rt.close();
      }
      await expectNoLeaks(before);
    });

    for (const answer of Object.keys(answers).filter((a) => a !== 'shifted')) {
      for (const op of ['read', 'write'] as const) {
        test(`${op}, ${answer}: a contract failure of the driver; the host and the data live on`, async () => {
          const before = snapshot();
          const rt = createRuntime();
          try {
            const disk = await attach(rt, domain, answer);
            await disk.open();
            await disk.write(0, block(7));
            const failure = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === 'd', 30_000);
            // Resubmitted, the request breaks each new driver the same way, until it is quarantined.
            const attacked = (op === 'read' ? disk.read(ATTACKED, 4096) : disk.write(ATTACKED, block(5)))
              .then(() => 'done', (err: { code?: string }) => err.code);
            const seen = await failure;
            assert.equal(seen.kind, 'contract', seen.message);
            assert.match(seen.message, new RegExp(`^${op} answered `));
            assert.equal(await attacked, 'SD_ERR_POISON_REQUEST');
            assert.deepEqual(await disk.read(0, 4096), block(7), 'the device serves on, its data intact');
            assert.deepEqual(await disk.read(ATTACKED + 4096, 4096), block(0), 'nothing was written where the bad answer pointed');
          } finally {
            await rt.close();
          }
          await expectNoLeaks(before);
        });
      }
    }
  });
}
