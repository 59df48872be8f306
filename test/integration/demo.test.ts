/**
 * The demo end to end, through the real boundary: checksummed data sets on a ram disk and a
 * file disk, the wa-sqlite bank on a ram disk and the userspace ext4 on a file disk, while
 * faults of several kinds are injected into all their drivers. What is asserted is what the
 * applications observed (no error, no differing block, transfer or file, the same device
 * objects, the databases's invariants, a clean e2fsck) and that each injected fault was
 * followed by a recovery. No sleeping: the run ends by its own duration and every wait inside
 * it has a deadline.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { ChecksummedDataset } from '../../src/apps/checksummed-dataset.js';
import { executeDemo, renderReport, type DemoResult } from '../../src/cli/demo.js';
import type { BlockDevice } from '../../src/kernel/block-device.js';
import { expectNoLeaks, snapshot } from '../helpers/leaks.js';

function assertRecoveredTransparently(result: DemoResult): void {
  const report = renderReport(result);
  assert.deepEqual(result.verdict, [], report);
  for (const d of result.devices) {
    assert.equal(d.app.errors, 0, `${d.device}: application-visible errors\n${report}`);
    assert.equal(d.app.mismatches, 0, `${d.device}: mismatches\n${report}`);
    assert.ok(d.app.blocksVerified > 0, `${d.device}: nothing was verified`);
    assert.ok(d.faults.total >= 3, `${d.device}: only ${d.faults.total} faults injected`);
    assert.ok(Object.keys(d.faults.injected).length >= 3, `${d.device}: fewer than 3 fault kinds`);
    assert.equal(d.faults.recovered, d.faults.total, `${d.device}: ${d.faults.unrecovered.join('; ')}`);
    assert.ok(d.recoveries.length >= d.faults.total, `${d.device}: fewer recoveries than faults`);
    assert.equal(d.sameObject, true, `${d.device}: the device object changed`);
    assert.equal(d.gaveUp, undefined);
  }
  // The applications on their own disks: the database always, ext4 where e2fsprogs is.
  const hasE2fsprogs = existsSync('/sbin/e2fsck');
  assert.deepEqual(result.apps.map((a) => a.title), hasE2fsprogs ? ['database', 'ext4'] : ['database'], report);
  assert.deepEqual(result.skipped.map((s) => s.title), hasE2fsprogs ? [] : ['ext4']);
  for (const a of result.apps) {
    assert.equal(a.outcome.errors, 0, `${a.device}: application-visible errors\n${report}`);
    assert.deepEqual(a.outcome.problems, [], report);
    assert.ok(a.faults.total >= 3, `${a.device}: only ${a.faults.total} faults injected`);
    assert.equal(a.faults.recovered, a.faults.total, `${a.device}: ${a.faults.unrecovered.join('; ')}`);
    assert.ok(a.recoveries.length >= a.faults.total, `${a.device}: fewer recoveries than faults`);
    assert.ok(a.requests.writes > 0, `${a.device}: the application wrote nothing`);
    assert.equal(a.sameObject, true);
    assert.equal(a.gaveUp, undefined);
    const checks = Object.fromEntries(a.outcome.checks.map((c) => [c.name, c.status]));
    if (a.title === 'database') {
      assert.deepEqual(checks, { balances: 'ok', ledger: 'ok', integrity_check: 'ok' }, report);
      assert.match(a.outcome.summary, /^[1-9]\d* transfers committed .*, 0 failed$/);
    } else {
      assert.deepEqual(checks, { files: 'ok', 'e2fsck -fn': 'ok' }, report);
      assert.match(a.outcome.summary, /, [1-9]\d* files \/ [\d.]+ MiB read back$/);
    }
  }
  assert.match(report, /applications on their own disks:/);
}

function demoImages(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('shadowd-demo-'));
}

for (const domain of ['worker', 'process'] as const) {
  test(`demo in ${domain} domains: faults of several kinds, no application-visible error, no lost data`, async () => {
    const before = snapshot();
    const imagesBefore = demoImages();
    const result = await executeDemo({ duration: 6, domain, faultInterval: 500, seed: 2004, sizeMiB: 16 });
    assertRecoveredTransparently(result);
    // The whole data set was re-read at the end, on both disks.
    for (const d of result.devices) assert.ok(d.app.blocksVerified >= (16 * 1024 * 1024) / 4096);
    assert.deepEqual(demoImages().filter((name) => !imagesBefore.includes(name)), [], 'the disk image was left behind');
    await expectNoLeaks(before);
  });
}

test('an aborted demo still verifies the data set and cleans up', async () => {
  const abort = new AbortController();
  const result = await executeDemo({
    duration: 60, domain: 'worker', faultInterval: 200, seed: 7, sizeMiB: 4, signal: abort.signal,
    progressEveryMs: 50,
    // Stop once the first faults have been recovered: an event, not a fixed sleep.
    onProgress: (line) => {
      const [, faults, recovered] = /ram0: \d+ req, (\d+) faults, (\d+) recovered/.exec(line) ?? [];
      if (Number(faults) >= 2 && Number(recovered) >= 2) abort.abort();
    },
  });
  assert.ok(result.elapsedMs < 30_000, 'the abort did not end the run');
  assert.deepEqual(result.verdict, [], renderReport(result));
});

/**
 * A disk that misbehaves on purpose, to show the application's checks are not vacuous: it
 * loses one write silently, corrupts one byte of another, and rejects one call.
 */
function faultyDisk(blocks: number, served: () => void) {
  const bytes = new Uint8Array(blocks * 4096);
  let writes = 0;
  const disk = {
    open: async () => undefined,
    close: async () => undefined,
    flush: async () => undefined,
    geometry: async () => ({ sizeBytes: bytes.length, blockSize: 4096, readOnly: false }),
    read: async (offset: number, length: number) => bytes.slice(offset, offset + length),
    write: async (offset: number, data: Uint8Array) => {
      writes++;
      if (writes === 40) served();
      if (writes === 5) return; // lost: acknowledged, never stored
      bytes.set(data, offset);
      if (writes === 6) bytes[offset + 100] ^= 0xff; // corrupted on the medium
      if (writes === 7) throw new Error('injected device error');
    },
  };
  return disk as unknown as BlockDevice;
}

test('the application notices lost writes, corrupted blocks and rejected calls', async () => {
  let served!: () => void;
  const enough = new Promise<void>((resolve) => { served = resolve; });
  const app = new ChecksummedDataset(faultyDisk(64, () => served()), { queueDepth: 1, maxExtentBlocks: 1, tag: 1 });
  await app.open();
  app.start();
  await enough;
  await app.stop();
  await app.verifyAll();
  assert.equal(app.stats.errors, 1, app.stats.problems.join('\n'));
  assert.ok(app.stats.mismatches >= 2, app.stats.problems.join('\n'));
  assert.ok(app.stats.problems.some((p) => /all zeros|generation/.test(p)), 'the lost write was not noticed');
  assert.ok(app.stats.problems.some((p) => /checksum/.test(p)), 'the corruption was not noticed');
});
