/**
 * A real failing disk: nbdkit's error filter under the `nbd` driver fails a share of reads and
 * writes (EIO, and ENOSPC for writes) while the driver is also crashed from time to time. The
 * device's errors reach the application as SD_ERR_IO carrying the errno, for those requests
 * only; they never count as driver failures (recoveries = the faults injected, none gave up);
 * the data matches a model that applies only the writes that succeeded.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type FailureEvent, type RecoveryEvent } from 'shadow-drivers';
import { BLOCK, blockContent, expectNoLeaks, requires, snapshot, waitForEvent } from 'shadow-drivers/testing';
import { nbdkit, ONE_THREAD } from '../../src/harness/nbdkit.js';

const driver = 'nbd';
const work = mkdtempSync(join(tmpdir(), 'shadow-nbd-errors-'));
after(() => rmSync(work, { recursive: true, force: true }));

for (const domain of ['worker', 'process'] as const) {
  test(`${domain}: a disk failing 20% of reads (EIO) and writes (ENOSPC) while its driver crashes: errors for those requests only, no extra restart`,
    { skip: requires('nbdkit') }, async () => {
      const before = snapshot();
      const inject = join(work, `inject-${domain}`);
      const server = nbdkit(work, `errors-${domain}`, [ONE_THREAD, '--filter=error', 'memory', '64M',
        'error-pread=EIO', 'error-pread-rate=20%', `error-pread-file=${inject}`,
        'error-pwrite=ENOSPC', 'error-pwrite-rate=20%', `error-pwrite-file=${inject}`]);
      const rt = createRuntime({ faultInjection: true });
      try {
        await server.start();
        const name = `failing-${domain}`;
        const failures: FailureEvent[] = [];
        rt.manager.on('failure', (e: FailureEvent) => { if (e.device === name) failures.push(e); });
        rt.manager.on('gave-up', (e) => failures.push(e as FailureEvent));
        const disk = await rt.attachBlock({ name, driver, domain, config: { socket: server.socket },
          heartbeatMs: 50, heartbeatTimeoutMs: 1000, restart: { baseDelayMs: 1, maxDelayMs: 5 } });
        await disk.open();
        const blocks = 32;
        const model = Array.from({ length: blocks }, () => 0);
        for (let b = 0; b < blocks; b++) await disk.write(b * BLOCK, blockContent(b, 0));
        writeFileSync(inject, ''); // the disk starts failing
        const seen = { EIO: 0, ENOSPC: 0, ok: 0, mismatches: 0, other: [] as unknown[] };
        let injected = 0;
        for (let round = 0; round < 40; round++) {
          if (round % 8 === 4) {
            const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name);
            rt.inject(name, { kind: (['exit', 'kill', 'throw'] as const)[injected++ % 3] });
            await disk.read(0, BLOCK).catch(() => undefined); // a call for the fault to act on
            await recovered;
          }
          await Promise.all(Array.from({ length: blocks }, async (_, b) => {
            const write = (round + b) % 2 === 0;
            try {
              if (write) { await disk.write(b * BLOCK, blockContent(b, round + 1)); model[b] = round + 1; }
              else if (Buffer.compare(Buffer.from(await disk.read(b * BLOCK, BLOCK)), Buffer.from(blockContent(b, model[b]!))) !== 0) seen.mismatches++;
              seen.ok++;
            } catch (error) {
              const code = isShadowError(error, ErrorCodes.IO) ? (error.cause as { code?: string }).code : undefined;
              if (code === (write ? 'ENOSPC' : 'EIO')) seen[code]++;
              else seen.other.push(error);
            }
          }));
        }
        rmSync(inject); // the disk heals: every block holds its last successful write
        for (let b = 0; b < blocks; b++) {
          if (Buffer.compare(Buffer.from(await disk.read(b * BLOCK, BLOCK)), Buffer.from(blockContent(b, model[b]!))) !== 0) seen.mismatches++;
        }
        assert.deepEqual(seen.other, []);
        assert.ok(seen.EIO > 0 && seen.ENOSPC > 0 && seen.ok > 0, JSON.stringify(seen));
        assert.equal(seen.mismatches, 0, 'a failed write changed the data, or a read returned the wrong block');
        assert.equal(failures.length, injected, `only the injected faults failed the driver: ${failures.map((f) => f.message).join('; ')}`);
        assert.equal(rt.status(name)!.recoveries, injected);
        assert.equal(rt.status(name)!.state, 'running');
      } finally {
        await rt.close();
        await server.stop();
      }
      await expectNoLeaks(before);
    });
}
