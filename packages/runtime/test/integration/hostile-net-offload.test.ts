/**
 * Offload headers at the boundary: a NIC driver that hands the kernel a GSO frame whose header
 * lies (segments bigger than any MTU) fails alone, blamed for its upcall, while another NIC
 * beside it keeps receiving; and a frame the kernel is asked to send with a header that does
 * not fit the port is refused and counted before it reaches any driver.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime } from '../../src/index.js';
import type { FailureEvent } from '../../src/observe/channels.js';
import { expectNoLeaks, snapshot, waitForEvent } from '../../src/testing/index.js';

const liar = new URL('../fixtures/drivers/net-liar.js', import.meta.url).href;

for (const domain of ['worker', 'process'] as const) {
  test(`a ${domain} NIC driver sending a lying GSO header fails alone; its neighbour keeps receiving`, async () => {
    const before = snapshot();
    const rt = createRuntime();
    try {
      const failures: FailureEvent[] = [];
      rt.manager.on('failure', (e: FailureEvent) => failures.push(e));
      const failed = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === 'liar');
      const bad = await rt.attachNet({ name: 'liar', driver: liar, domain, config: { lie: true }, restart: { intensity: 1 } });
      const good = await rt.attachNet({ name: 'honest', driver: liar, domain, config: { lie: false, mac: '02:00:00:00:00:02' } });
      const received = new Promise<Uint8Array[]>((resolve) => good.onReceive(resolve));
      await good.up();
      await bad.up();
      const failure = await failed;
      assert.match(failure.message, /GSO segments of 20000 bytes/);
      assert.equal((await received).length, 1, 'the honest driver\'s frame arrived');
      assert.deepEqual(failures.filter((e) => e.device !== 'liar'), [], 'the neighbour did not fail');
      assert.equal(rt.status('honest')!.recoveries, 0);

      // The kernel's side: a header that does not fit the frame never reaches the driver.
      const frame = new Uint8Array(3000);
      frame.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
      assert.equal(good.send(frame, { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1400, csumStart: 34, csumOffset: 16 }), false);
      assert.equal(good.counters.droppedMalformed, 1);
      assert.equal(good.counters.queued, 0);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}
