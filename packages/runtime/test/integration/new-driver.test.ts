/**
 * A new driver without a change to the core: a fixture driver (test/fixtures/drivers/mirror.ts,
 * written against the public driver API only) is registered by its manifest, attached by name
 * in a worker and in a process domain, recovered from an injected fault with its data intact.
 * And what registration refuses: an unknown class, a name taken, a malformed manifest.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, ErrorCodes, isShadowError, type DriverManifest, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';

/** The manifest a driver author ships with the driver: two media of config.sizeBytes each. */
const mirrorManifest = (): DriverManifest => ({
  class: 'block',
  name: 'fixture-mirror',
  module: new URL('../fixtures/drivers/mirror.js', import.meta.url).href,
  description: 'a test driver that mirrors every write onto two media',
  resources: (config) => {
    const sizeBytes = Number(config.sizeBytes);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new Error('the fixture-mirror driver needs config.sizeBytes');
    return [{ name: 'primary', memoryBytes: sizeBytes }, { name: 'mirror', memoryBytes: sizeBytes }];
  },
});

for (const domain of ['worker', 'process'] as const) {
  test(`a driver added by its manifest alone attaches by name in a ${domain} domain and recovers from a fault with its data`, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    const name = `mirror-${domain}`;
    try {
      rt.registerDriver(mirrorManifest());
      const disk = await rt.attachBlock({ name, driver: 'fixture-mirror', domain, config: { sizeBytes: 32 * BLOCK } });
      assert.equal(rt.status(name)?.driver, 'fixture-mirror');
      assert.equal(rt.status(name)?.domain, domain);
      assert.equal((await disk.geometry()).sizeBytes, 32 * BLOCK, 'the geometry the driver registered');
      await disk.open();
      const app = new BlockWorkload(disk, 32);
      await app.fill();
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name);
      let done = false;
      const running = app.run(4, () => done);
      rt.inject(name, { kind: 'throw' });
      const event = await recovered.finally(() => { done = true; });
      await running;
      assert.equal(event.cause, 'exception');
      assert.equal(event.driver, 'fixture-mirror');
      // Every block read back through the recovered driver, both media agreeing.
      await app.verifyAll();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0);
      assert.equal(rt.status(name)?.recoveries, 1);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}

/** Registration fails with SD_ERR_INVALID_ARGUMENT and a message matching `message`. */
function refuses(manifest: unknown, message: RegExp, setup?: (rt: ReturnType<typeof createRuntime>) => void): void {
  const rt = createRuntime();
  setup?.(rt);
  assert.throws(() => rt.registerDriver(manifest as DriverManifest), (err: unknown) => {
    assert.ok(isShadowError(err, ErrorCodes.INVALID_ARGUMENT), `expected SD_ERR_INVALID_ARGUMENT, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

test('registering a manifest for a class nobody registered is SD_ERR_INVALID_ARGUMENT', () => {
  refuses({ ...mirrorManifest(), class: 'tape' }, /no driver class tape/);
});

test('registering a second driver under a name the class has is SD_ERR_INVALID_ARGUMENT', () => {
  refuses(mirrorManifest(), /already registered/, (rt) => rt.registerDriver(mirrorManifest()));
  refuses({ ...mirrorManifest(), name: 'ram' }, /a block driver named ram is already registered/);
});

test('registering a malformed manifest is SD_ERR_INVALID_ARGUMENT, the message naming the field', () => {
  refuses({ ...mirrorManifest(), module: '' }, /manifest\.module/);
  refuses({ ...mirrorManifest(), name: 'no spaces' }, /manifest\.name/);
  refuses({ ...mirrorManifest(), resources: [] }, /manifest\.resources/);
  refuses(null, /must be an object/);
});
