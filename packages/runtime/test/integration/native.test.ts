/**
 * The `native` configuration (domain `none`, no recovery) is the paper's Linux-Native column:
 * a driver fault is the host's fault. Only faults that do not take the test process down are
 * used here; exits, aborts and escaped exceptions in a native driver end the host itself.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type FaultKind } from '../../src/index.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';
import { kManaged } from '../../src/manager/shadow-manager.js';

for (const kind of ['contract', 'bad-kernel-call'] as FaultKind[]) {
  test(`native: a ${kind} fault reaches the application and the device is lost`, async () => {
    const rt = createRuntime({ faultInjection: true });
    try {
      const disk = await rt.attachBlock({ name: 'native', driver: 'ram', recovery: 'native', config: { sizeBytes: 8 * BLOCK } });
      assert.equal(rt.manager[kManaged]('native')!.current.channel.domain.kind, 'none');
      await disk.open();
      await disk.write(0, blockContent(0, 1));
      rt.inject('native', { kind });
      const results = await Promise.allSettled([disk.read(0, BLOCK), disk.read(0, BLOCK)]);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.ok(failed.length > 0, 'the fault was not seen by the application');
      // Every error an application sees carries a code, in native mode too.
      for (const r of failed) assert.ok(isShadowError((r as PromiseRejectedResult).reason), `uncoded: ${String((r as PromiseRejectedResult).reason)}`);
      const later = await disk.read(0, BLOCK).then(() => 'served', (e: unknown) => e);
      assert.ok(isShadowError(later, ErrorCodes.GAVE_UP) || isShadowError(later, ErrorCodes.DRIVER_FAILED), `after the fault: ${String(later)}`);
      assert.equal(rt.status('native')!.recoveries, 0);
      assert.equal(disk.device.status, 'gave-up');
    } finally {
      await rt.close();
    }
  });
}
