/**
 * The `file` driver over a real Linux block device: a loop device (losetup) backed by an
 * image. Faults of every kind hit the driver while an application writes a data set; after
 * the device is detached, the image is compared byte for byte (cmp) with the expected image,
 * outside the runtime. Needs root and loop devices; skips loudly without them.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, faultKinds, type RecoveryEvent } from '../../src/index.js';
import { requires } from '../../src/testing/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload, blockContent } from '../../src/testing/workload.js';

const BLOCKS = 2048; // 8 MiB
const missing = requires('root', 'loop', 'losetup', 'cmp');
if (missing) console.error(`\n*** SKIPPING the loop-device test: ${missing} ***\n`);

for (const domain of ['worker', 'process'] as const) {
  test(`file driver on /dev/loopN in a ${domain} domain survives every fault kind; cmp verifies the image`, { skip: missing }, async () => {
    const before = snapshot();
    const dir = mkdtempSync(join(tmpdir(), 'shadow-loop-'));
    const image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(0));
    truncateSync(image, BLOCKS * BLOCK);
    const loop = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
    const rt = createRuntime({ faultInjection: true });
    try {
      const disk = await rt.attachBlock({
        name: 'loop', driver: 'file', domain, config: { path: loop },
        heartbeatMs: 50, heartbeatTimeoutMs: 1000, deadlineScale: 0.5, memoryLimitMb: 32,
        restart: { intensity: 100, periodMs: 60_000 },
      });
      const device = disk.device;
      assert.equal((await disk.geometry()).sizeBytes, BLOCKS * BLOCK, 'size read from sysfs');
      await disk.open();
      const app = new BlockWorkload(disk, BLOCKS, 3);
      await app.fill();
      for (const kind of faultKinds) {
        const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', () => true, 20_000);
        let done = false;
        const running = app.run(8, () => done);
        rt.inject('loop', { kind });
        await recovered.finally(() => { done = true; });
        await running;
      }
      await disk.flush();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0);
      assert.equal(rt.kernel.device('loop'), device);
      assert.equal(rt.status('loop')!.recoveries, faultKinds.length);
      await rt.detach('loop');
      // Outside the runtime: the device's bytes are exactly the model's.
      const expected = join(dir, 'expected.img');
      const model = Buffer.alloc(BLOCKS * BLOCK);
      app.generations.forEach((gen, b) => { if (gen > 0) model.set(blockContent(b, gen), b * BLOCK); });
      writeFileSync(expected, model);
      execFileSync('cmp', [loop, expected]);
    } finally {
      await rt.close();
      execFileSync('losetup', ['-d', loop]);
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(!execFileSync('losetup', ['-a'], { encoding: 'utf8' }).includes(image), 'loop device still attached');
    await expectNoLeaks(before);
  });
}
