/**
 * A driver's own state across a live update: the old version's exportState() reaches the new
 * version's importState(), under a running, verified workload. An export that throws, cannot
 * be cloned or is too large, or an import that throws, rolls the update back: the old version
 * serves on, the application sees no error, and the event names the cause.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type DriverLogEvent, type Runtime, type UpdateRolledBackEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';

const carry = (version: string) => new URL(`../fixtures/drivers/ram-carry.js?${version}`, import.meta.url).href;

/** Versions of the carrying driver under manifest names (the version status() reports). */
function register(rt: Runtime, versions: string[]): void {
  for (const version of versions) {
    rt.registerDriver({
      class: 'block', name: `carry-${version}`, module: carry(version),
      resources: (config) => [{ name: 'medium', memoryBytes: Number(config.sizeBytes) }],
    });
  }
}

/** Runs `body` under a verified workload on disk0 (driver `first`), then checks the data and that no error reached it. */
async function underWorkload(domain: 'worker' | 'process', first: string, register_: (rt: Runtime) => void,
  body: (rt: Runtime, work: BlockWorkload) => Promise<void>): Promise<void> {
  const before = snapshot();
  const rt = createRuntime();
  try {
    register_(rt);
    const disk = await rt.attachBlock({ name: 'disk0', driver: first, domain, config: { sizeBytes: 256 * BLOCK } });
    await disk.open();
    const work = new BlockWorkload(disk, 128);
    await work.fill();
    let stop = false;
    const running = work.run(4, () => stop);
    try {
      await body(rt, work);
    } finally {
      stop = true;
      await running;
    }
    await work.verifyAll();
    assert.deepEqual(work.errors, [], 'no application-visible error');
    assert.equal(work.mismatches, 0, 'every read matched what was written');
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
}

/** Until the workload completed `count` more requests. */
function progress(work: BlockWorkload, count: number): Promise<void> {
  const target = work.completed + count;
  return new Promise<void>((resolve) => { const check = () => (work.completed >= target ? resolve() : setImmediate(check)); check(); });
}

for (const domain of ['worker', 'process'] as const) {
  test(`${domain} domain: a request counter and a read cache carried v1 → v2 → v1 by exportState / importState`, async () => {
    await underWorkload(domain, 'carry-v1', (rt) => register(rt, ['v1', 'v2']), async (rt, work) => {
      const imported: number[] = [];
      rt.manager.on('log', (e: DriverLogEvent) => {
        const m = /^imported served=(\d+) recent=(\d+)$/.exec(e.message);
        if (m && e.device === 'disk0') imported.push(Number(m[1]));
      });
      for (const [i, to] of ['carry-v2', 'carry-v1', 'carry-v2'].entries()) {
        await progress(work, 50);
        const report = await rt.update('disk0', { driver: to, probation: { requests: 10, ms: 2000 } });
        assert.equal(report.outcome, 'switched', `update ${i + 1} to ${to}: ${report.cause}`);
        assert.equal(rt.status('disk0')!.version, to);
        assert.equal(imported.length, i + 1, 'each new version imported the old one\'s state');
        if (i > 0) assert.ok(imported[i]! > imported[i - 1]!, `the count grows across versions: ${imported.join(', ')}`);
      }
      assert.ok(imported[0]! >= 50, `the first import carried v1's requests (${imported[0]})`);
    });
  });
}

const bad = [
  { what: 'an exportState that throws', from: 'export-throws', to: 'v2', cause: /exportState failed: Error: cannot export my cache/ },
  { what: 'an exportState that returns a function', from: 'export-garbage', to: 'v2', cause: /exportState failed: DataCloneError/ },
  { what: 'an exportState over the class\'s size bound', from: 'export-huge', to: 'v2', cause: /exportState returned \d+ bytes, more than the class's 1048576/ },
  { what: 'an importState that throws', from: 'v1', to: 'import-throws', cause: /importState failed: .*cannot import that cache/ },
];

for (const c of bad) {
  test(`${c.what} rolls the update back; the old version serves on and the application sees no error`, async () => {
    await underWorkload('worker', `carry-${c.from}`, (rt) => register(rt, [c.from, c.to]), async (rt, work) => {
      await progress(work, 50);
      const rolledBack = waitForEvent<UpdateRolledBackEvent>(rt.manager, 'update-rolled-back');
      const report = await rt.update('disk0', { driver: `carry-${c.to}` });
      const event = await rolledBack;
      assert.equal(report.outcome, 'rolled-back');
      assert.equal(report.failedIn, 'carry-state');
      assert.match(report.cause!, c.cause);
      assert.equal(event.cause, report.cause, 'the event names the cause');
      const status = rt.status('disk0')!;
      assert.equal(status.version, `carry-${c.from}`, 'the old version serves');
      assert.equal(status.state, 'running');
      assert.equal(status.recoveries, 0, 'the old version never stopped: nothing was recovered');
      await progress(work, 50);
    });
  });
}
