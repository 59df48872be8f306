/**
 * A driver that uses a descriptor it was neither lent nor opened: a file the host holds open,
 * or the host's stdout. A worker shares the host's descriptor table: there the domain's
 * descriptor checks (isolation/fd-guard.ts) refuse the call before the system call and fail
 * the driver as a bad kernel call, while the driver's own descriptors (every way fs opens one)
 * keep working. A process has descriptors of its own: the number names nothing of the host's,
 * whatever the driver then gets. Either way the host lives, its file and descriptor are
 * untouched, the device serves again and a healthy disk beside it verifies all its data.
 */
import { strict as assert } from 'node:assert';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, type FailureEvent, type RecoveryEvent } from '../../src/index.js';
import { until } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';
import { touches } from '../fixtures/drivers/fd-toucher.js';

const toucher = new URL('../fixtures/drivers/fd-toucher.js', import.meta.url).href;
const VICTIM = 'the kernel owns this file';

for (const domain of ['worker', 'process'] as const) {
  for (const touch of Object.keys(touches)) {
    test(`${domain}: a driver's ${touch} on a descriptor of the host ${domain === 'worker' ? 'fails it as a bad kernel call' : 'reaches nothing of the host'}`, async () => {
      const before = snapshot();
      const dir = mkdtempSync(join(tmpdir(), 'shadow-fd-'));
      const victimPath = join(dir, 'victim');
      writeFileSync(victimPath, VICTIM);
      const victimFd = openSync(victimPath, 'r+');
      const rt = createRuntime();
      try {
        const healthy = await rt.attachBlock({ name: 'healthy', driver: 'ram', domain, config: { sizeBytes: 32 * BLOCK } });
        await healthy.open();
        const app = new BlockWorkload(healthy, 32);
        await app.fill();
        const disk = await rt.attachBlock({
          name: 'toucher', driver: toucher, domain, resources: [{ name: 'medium', memoryBytes: 16 * BLOCK }],
          config: { touch, fd: victimFd, ...(domain === 'worker' ? { scratch: join(dir, 'own') } : {}) },
          // The touching write is not given to the next driver: one failure, one recovery.
          poisonThreshold: 1,
        });
        await disk.open();
        await disk.write(0, new Uint8Array(BLOCK).fill(1));
        const failures: FailureEvent[] = [];
        const recoveries: RecoveryEvent[] = [];
        rt.manager.on('failure', (e: FailureEvent) => { if (e.device === 'toucher') failures.push(e); });
        rt.manager.on('recovery', (e: RecoveryEvent) => { if (e.device === 'toucher') recoveries.push(e); });
        const outcome = await disk.write(BLOCK, new Uint8Array(BLOCK).fill(0xee)).then(() => 'done', (err: { code?: string }) => err.code);
        if (domain === 'worker') {
          assert.equal(outcome, 'SD_ERR_POISON_REQUEST');
          await until(() => recoveries.length > 0, 'the toucher recovered', 30_000);
          assert.equal(failures.length, 1);
          assert.equal(failures[0]!.kind, 'bad-kernel-call', failures[0]!.message);
          assert.match(failures[0]!.message, new RegExp(`descriptor ${touch === 'stdout' ? 1 : victimFd} was neither opened by the driver nor lent`));
        } else {
          // The number names nothing, or one of the driver's own: an error it fails on, or a write to itself.
          assert.ok(outcome === 'done' || outcome === 'SD_ERR_POISON_REQUEST', `the touching write ended ${outcome}`);
          if (outcome !== 'done') await until(() => recoveries.length > 0, 'the toucher recovered', 30_000);
          await until(() => rt.status('toucher')?.state === 'running', 'the toucher serving again', 30_000);
        }
        // The host's file and its descriptor are as they were.
        assert.equal(readFileSync(victimPath, 'utf8'), VICTIM);
        assert.ok(fstatSync(victimFd).isFile());
        const back = Buffer.alloc(VICTIM.length);
        readSync(victimFd, back, 0, back.length, 0);
        assert.equal(back.toString(), VICTIM);
        // The device serves what was written before, and the healthy one saw nothing.
        assert.equal((await disk.read(0, BLOCK))[0], 1);
        await app.run(2, () => app.completed >= 100);
        await app.verifyAll();
        assert.deepEqual(app.errors, []);
        assert.equal(app.mismatches, 0);
        assert.equal(rt.status('healthy')?.recoveries, 0);
      } finally {
        await rt.close();
        closeSync(victimFd);
        rmSync(dir, { recursive: true, force: true });
      }
      await expectNoLeaks(before);
    });
  }
}
