/**
 * A read can land in the caller's own buffer (no allocation per read): the same buffer comes
 * back filled, in every domain, also when the read was resubmitted after a driver failure.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';

for (const [domain, recovery] of [['none', 'native'], ['worker', 'shadow'], ['process', 'shadow']] as const) {
  test(`read into the caller's buffer (${domain})`, async () => {
    const rt = createRuntime({ faultInjection: true });
    try {
      const disk = await rt.attachBlock({ name: 'into', driver: 'ram', domain, recovery, config: { sizeBytes: 16 * BLOCK } });
      await disk.open();
      await disk.write(BLOCK, blockContent(1, 1));
      const exact = new Uint8Array(BLOCK);
      assert.equal(await disk.read(BLOCK, BLOCK, exact), exact);
      assert.deepEqual(exact, blockContent(1, 1));
      const larger = new Uint8Array(2 * BLOCK).fill(7);
      const part = await disk.read(BLOCK, BLOCK, larger);
      assert.equal(part.buffer, larger.buffer);
      assert.deepEqual(part, blockContent(1, 1));
      assert.equal(larger[BLOCK], 7, 'bytes past the read are untouched');
      const small = await disk.read(BLOCK, BLOCK, new Uint8Array(10)).then(() => 'accepted', (e: unknown) => e);
      assert.ok(isShadowError(small, ErrorCodes.INVALID_ARGUMENT));
      if (recovery === 'shadow') {
        const mine = new Uint8Array(BLOCK);
        const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
        const reading = Promise.all(Array.from({ length: 8 }, () => disk.read(BLOCK, BLOCK, mine)));
        rt.inject('into', { kind: 'kill' });
        for (const result of await reading) assert.equal(result, mine);
        assert.deepEqual(mine, blockContent(1, 1));
        await recovered;
      }
    } finally {
      await rt.close();
    }
  });
}
