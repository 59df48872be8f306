/**
 * The userspace ext4 (libext2fs in WebAssembly, no root, no kernel filesystem) on a shadowed
 * disk while faults of every kind hit the disk's driver: a `ram` disk in a worker domain and
 * a disk-image `file` disk in a process domain. The filesystem is made by the real mke2fs and
 * copied onto the device through the driver, files are written in rounds until every fault
 * kind has been injected at least once, then the filesystem is mounted afresh and every file
 * read back and compared byte for byte. Finally the whole disk is read through the shadowed
 * device into an image and the real `e2fsck -fn` must find it clean.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, faultKinds, type DriverSpec, type FaultKind, type RecoveryEvent } from 'shadow-drivers';
import { Ext4Error, Ext4ErrorCodes } from '../../src/apps/ext4/errors.js';
import { fsckThroughDevice } from '../../src/apps/ext4/image-check.js';
import type { TreeOptions } from '../../src/apps/ext4/file-tree.js';
import { formatExt4 } from '../../src/apps/ext4/mkfs.js';
import { Ext4Workload } from '../../src/apps/ext4/workload.js';
import { faultLoop } from 'shadow-drivers/testing';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';

const MiB = 1024 * 1024;
const KINDS: FaultKind[] = [...faultKinds];
const missing = requires('mke2fs', 'e2fsck');
if (missing) console.error(`\n*** SKIPPING the userspace ext4 tests: ${missing} ***\n`);

const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, warmStandby: true, restart: { intensity: 10_000 } };

interface Run {
  /** Pause between faults (sets the fault rate). */
  pauseMs: number;
  /** Rounds to write at least: enough that the oldest are deleted to make room (unlink, rmdir). */
  minRounds: number;
  tree?: TreeOptions;
}

async function ext4UnderFaults(name: string, run: Run, spec: (dir: string) => Promise<Omit<DriverSpec, 'className' | 'name'>>): Promise<void> {
  const before = snapshot();
  const dir = await mkdtemp(join(tmpdir(), 'shadow-ext4-'));
  const rt = createRuntime({ faultInjection: true });
  let faults: ReturnType<typeof faultLoop> | undefined;
  try {
    const disk = await rt.attachBlock({ name, ...(await spec(dir)) });
    await disk.open();
    // Each recovery belongs to the fault injected last (the loop injects the next one only
    // after the device recovered from the previous).
    const recoveredByKind: Partial<Record<FaultKind, number>> = {};
    rt.manager.on('recovery', (e: RecoveryEvent) => {
      const kind = faults?.injected.at(-1);
      if (e.device === name && kind) recoveredByKind[kind] = (recoveredByKind[kind] ?? 0) + 1;
    });
    faults = faultLoop(rt, name, disk, KINDS, run.pauseMs);
    const started = Date.now();
    const formatted = await formatExt4(disk, { label: name, uuid: '5ad0b1e5-0000-4000-8000-000000002004' });

    const workload = new Ext4Workload(disk, { seed: 2004, ...run.tree });
    const covered = () => KINDS.every((k) => faults!.injected.includes(k));
    await workload.write(() => (!covered() || workload.stats.roundsWritten < run.minRounds) && Date.now() - started < 120_000);
    await workload.verify();
    await faults.stop();
    const fsck = await fsckThroughDevice(disk);

    const { stats } = workload;
    const live = workload.liveRounds;
    const files = live.reduce((n, r) => n + r.files.length, 0);
    const bytes = live.reduce((n, r) => n + r.bytes, 0);
    console.log(`# ${name}: mke2fs image copied in ${formatted.elapsedMs.toFixed(0)} ms; ${stats.roundsWritten} rounds `
      + `(${stats.roundsDeleted} deleted), ${stats.filesWritten} files / ${(stats.bytesWritten / MiB).toFixed(1)} MiB written, `
      + `${stats.filesVerified} files / ${(stats.bytesVerified / MiB).toFixed(1)} MiB verified in ${Date.now() - started} ms; `
      + `${faults.injected.length} faults, recoveries by kind ${JSON.stringify(recoveredByKind)}; `
      + `e2fsck exit ${fsck.exitCode}: ${fsck.output.split('\n').find((l) => /files/.test(l))}`);

    assert.deepEqual(stats.problems, []);
    assert.equal(stats.errors, 0);
    assert.equal(stats.mismatches, 0);
    assert.ok(stats.roundsDeleted > 0, 'no round was deleted');
    assert.equal(stats.filesVerified, files, 'not every file still on the disk was read back');
    assert.equal(stats.bytesVerified, bytes);
    for (const kind of KINDS) assert.ok((recoveredByKind[kind] ?? 0) > 0, `no recovery after a ${kind} fault`);
    assert.equal(rt.status(name)!.state, 'running');
    assert.equal(fsck.status, 'clean', fsck.output);
    assert.equal(fsck.exitCode, 0);
  } finally {
    await faults?.stop();
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
}

test('ext4 on a shadowed ram disk (worker domain) while its driver fails', { skip: missing }, async () => {
  await ext4UnderFaults('ext4-ram', { pauseMs: 100, minRounds: 4 }, async () => ({ driver: 'ram', domain: 'worker', config: { sizeBytes: 64 * MiB }, ...fast }));
});

test('ext4 on a shadowed disk image (file driver, process domain) while its driver fails', { skip: missing }, async () => {
  // A process domain restarts more slowly (a spare child to fork after each failure) and moves
  // data more slowly (copies over IPC): faults come less often and the rounds are smaller, on
  // a smaller disk, so that the third round still needs the first deleted.
  const tree = { directories: 3, filesPerDirectory: 4, maxFileBytes: MiB + 3 };
  await ext4UnderFaults('ext4-file', { pauseMs: 300, minRounds: 3, tree }, async (dir) => {
    const image = join(dir, 'disk.img');
    await writeFile(image, '');
    await truncate(image, 16 * MiB);
    return { driver: 'file', domain: 'process', config: { path: image }, ...fast };
  });
});

test('bad input to the userspace ext4 gets typed errors', async () => {
  const rt = createRuntime({ faultInjection: true });
  try {
    const small = await rt.attachBlock({ name: 'ext4-small', driver: 'ram', domain: 'worker', config: { sizeBytes: 4 * MiB } });
    await small.open();
    await assert.rejects(formatExt4(small), (e: Ext4Error) => e.code === Ext4ErrorCodes.INVALID_ARGUMENT);
    await assert.rejects(formatExt4(small, { uuid: 'nope' }), (e: Ext4Error) => e.code === Ext4ErrorCodes.INVALID_ARGUMENT);
    assert.throws(() => new Ext4Workload(small, { seed: 1.5 }), (e: Ext4Error) => e.code === Ext4ErrorCodes.INVALID_ARGUMENT);
    assert.throws(() => new Ext4Workload(small, { seed: 1, directories: 0 }), (e: Ext4Error) => e.code === Ext4ErrorCodes.INVALID_ARGUMENT);
    // An unformatted disk does not mount: a typed error, not a crash.
    const blank = await rt.attachBlock({ name: 'ext4-blank', driver: 'ram', domain: 'worker', config: { sizeBytes: 16 * MiB } });
    await blank.open();
    await assert.rejects(new Ext4Workload(blank, { seed: 1 }).write(() => false),
      (e: Ext4Error) => e.code === Ext4ErrorCodes.FS_CALL && /^mount/.test(e.message));
  } finally {
    await rt.close();
  }
});
