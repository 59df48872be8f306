/**
 * Live update of a block driver under a running, verified workload: v1 → v2 → v1 … with no
 * application-visible error, the data as written, the device object the same. The pause each
 * update costs applications is reported beside a warm-standby crash recovery's.
 */
import { strict as assert } from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import { test, type TestContext } from 'node:test';
import { createRuntime, type RecoveryEvent, type Runtime, type UpdateSwitchedEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';

const fixture = (name: string) => new URL(`../fixtures/drivers/${name}.js`, import.meta.url).href;
/** 100 in a worker domain (about 17 s here on a shared 2-core machine), 20 in a process domain. */
const updatesIn = (domain: string) => Number(process.env.SHADOW_UPDATES ?? (domain === 'worker' ? 100 : 20));

/** `ram` version 2: a fixture copy of the ram driver (its own module), under a manifest name. */
function withV2(rt: Runtime): void {
  rt.registerDriver({
    class: 'block', name: 'ram-v2', module: fixture('ram-v2'),
    resources: (config) => [{ name: 'medium', memoryBytes: Number(config.sizeBytes) }],
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

for (const domain of ['worker', 'process'] as const) {
  const UPDATES = updatesIn(domain);
  test(`block ram in a ${domain} domain: ${UPDATES} live updates v1 → v2 → v1 … under a verified workload`, async (t: TestContext) => {
    const before = snapshot();
    const rt = createRuntime();
    const switched: UpdateSwitchedEvent[] = [];
    const onSwitched = (e: unknown) => switched.push(e as UpdateSwitchedEvent);
    diagnostics.subscribe('shadow-drivers:update-switched', onSwitched);
    const started = performance.now();
    try {
      withV2(rt);
      const disk = await rt.attachBlock({ name: 'disk0', driver: 'ram', domain, config: { sizeBytes: 256 * BLOCK } });
      const device = rt.kernel.device('disk0');
      await disk.open();
      await disk.configure('writeCache', 'writeback');
      const work = new BlockWorkload(disk, 128);
      await work.fill();
      let stop = false;
      const running = work.run(8, () => stop);
      const pauses: number[] = [];
      try {
        for (let i = 0; i < UPDATES; i++) {
          const to = i % 2 === 0 ? 'ram-v2' : 'ram';
          const completed = work.completed;
          const report = await rt.update('disk0', { driver: to, probation: { requests: 20, ms: 5000 } });
          assert.equal(report.outcome, 'switched', `update ${i + 1} to ${to}: ${report.cause}`);
          assert.equal(rt.status('disk0')!.version, to);
          assert.ok(work.completed > completed, 'the application kept going through the update');
          assert.deepEqual(work.errors, [], 'no application-visible error');
          pauses.push(report.pauseMs!);
        }
      } finally {
        stop = true;
        await running;
      }
      await work.verifyAll();
      assert.deepEqual(work.errors, [], 'no application-visible error');
      assert.equal(work.mismatches, 0, 'every read matched what was written');
      assert.equal(rt.kernel.device('disk0'), device, 'the device object is the same');
      assert.equal(rt.block(device!), disk, 'so is its block face');
      assert.equal(switched.length, UPDATES, 'every switch was published on the diagnostics channel');
      const status = rt.status('disk0')!;
      assert.equal(status.lastUpdate?.outcome, 'switched');
      assert.equal(status.lastUpdate?.to, UPDATES % 2 === 1 ? 'ram-v2' : 'ram');
      t.diagnostic(`${domain}: ${UPDATES} updates in ${ms(performance.now() - started)}; ${work.completed} requests; ` +
        `pause p50 ${ms(percentile(pauses, 50))}, p99 ${ms(percentile(pauses, 99))}, max ${ms(Math.max(...pauses))}`);
    } finally {
      diagnostics.unsubscribe('shadow-drivers:update-switched', onSwitched);
      await rt.close();
    }
    await expectNoLeaks(before);
  });

  test(`block ram in a ${domain} domain: crash recovery with a warm standby, for comparison with an update's pause`, async (t: TestContext) => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    try {
      const disk = await rt.attachBlock({ name: 'disk1', driver: 'ram', domain, warmStandby: true, config: { sizeBytes: 256 * BLOCK } });
      await disk.open();
      const work = new BlockWorkload(disk, 128);
      await work.fill();
      let stop = false;
      const running = work.run(8, () => stop);
      const totals: number[] = [];
      try {
        for (let i = 0; i < 10; i++) {
          await rt.standbyReady('disk1');
          const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery');
          rt.inject('disk1', { kind: 'exit' });
          const event = await recovered;
          assert.equal(event.warmStandby, true);
          totals.push(event.totalMs);
        }
      } finally {
        stop = true;
        await running;
      }
      await work.verifyAll();
      assert.deepEqual(work.errors, []);
      assert.equal(work.mismatches, 0);
      t.diagnostic(`${domain}: warm-standby crash recovery totalMs p50 ${ms(percentile(totals, 50))}, p99 ${ms(percentile(totals, 99))}`);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
}
