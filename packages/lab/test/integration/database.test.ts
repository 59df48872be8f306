/**
 * The paper's database row: SQLite (wa-sqlite) on a shadowed disk through a VFS over the block
 * device API, running one transfer per transaction while faults of several kinds are injected
 * into the disk's driver. Under shadow recovery the application must see nothing: every
 * transfer commits, the real sqlite3 shell finds the database sound, the money is all there
 * and the ledger holds exactly the committed transfers. Under restart-only recovery the same
 * workload must visibly fail (the open is lost with the driver), as the paper's database did.
 * The disk is the `ram` driver, or the `nbd` driver as the client of a real nbdkit (every fault
 * kind, in a worker and in a process).
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createRuntime, type DriverSpec, type RecoveryEvent } from 'shadow-drivers';
import { ErrorCodes } from 'shadow-drivers';
import { Bank, type TransferStats } from '../../src/apps/database/bank.js';
import { checkWithSqliteCli, type CliCheck } from '../../src/apps/database/cli-check.js';
import type { FaultKind } from 'shadow-drivers';
import { mulberry32 } from '../../src/faults/schedule.js';
import type { Runtime } from 'shadow-drivers';
import { waitForEvent } from 'shadow-drivers/testing';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';
import { nbdkit, ONE_THREAD } from '../../src/harness/nbdkit.js';

const kinds: FaultKind[] = ['exit', 'kill', 'throw', 'rejection', 'contract', 'bad-kernel-call', 'abort'];
/** Every kind, hangs included, for the `nbd` driver (its runtime deadlines are shortened to match). */
const allKinds: FaultKind[] = [...kinds, 'busy-loop', 'never-answer', 'memory'];
const ACCOUNTS = 100;
const INITIAL = 1000;

interface Outcome {
  stats: TransferStats;
  recoveries: RecoveryEvent[];
  faults: FaultLoop;
  cli: CliCheck;
  gaveUp: boolean;
  deviceErrors: Record<string, number>;
}

/**
 * Injects a fault every 100–300 ms of service: the next fault only after the device recovered
 * from the last one (each fault matched with its own recovery), then a random pause.
 */
class FaultLoop {
  readonly injected: Partial<Record<FaultKind, number>> = {};
  readonly unrecovered: string[] = [];
  #running = true;
  #wake: (() => void) | undefined;
  readonly #done: Promise<void>;

  constructor(rt: Runtime, device: string, random: () => number, faultKinds: FaultKind[]) {
    this.#done = this.#run(rt, device, random, faultKinds);
  }

  async #run(rt: Runtime, device: string, random: () => number, faultKinds: FaultKind[]): Promise<void> {
    for (let i = 0; this.#running; i++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100 + random() * 200);
        this.#wake = () => { clearTimeout(timer); resolve(); };
      });
      if (!this.#running || rt.status(device)?.state !== 'running') return;
      const kind = faultKinds[i % faultKinds.length]!;
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === device, 10_000);
      rt.inject(device, { kind });
      this.injected[kind] = (this.injected[kind] ?? 0) + 1;
      await recovered.catch((error: Error) => { this.unrecovered.push(`${kind}: ${error.message}`); });
    }
  }

  /** Injects nothing more; resolves once the last fault is recovered (or overdue). */
  stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    return this.#done;
  }
}

/** The disk under the bank: its driver and domain, and the fault kinds injected into it. */
interface Disk {
  spec: Pick<DriverSpec, 'driver' | 'domain' | 'config'> & Partial<DriverSpec>;
  kinds: FaultKind[];
}

const ramDisk: Disk = { spec: { driver: 'ram', domain: 'worker', config: { sizeBytes: 16 << 20 } }, kinds };

/** Runs `transfers` transfers on a fresh disk while a fault loop injects faults into its driver. */
async function bankUnderFaults(rt: Runtime, name: string, recovery: 'shadow' | 'restart', transfers: number,
  seed: number, on: Disk = ramDisk): Promise<Outcome> {
  const disk = await rt.attachBlock({
    name, ...on.spec, warmStandby: true, recovery,
    // Several faults a second is a campaign, not a reason to give up on the device or to back
    // off: a driver that served 50 ms between faults counts as stable here.
    restart: { intensity: 1000, periodMs: 10_000, stableAfterMs: 50 },
  });
  await disk.open();
  const bank = await Bank.open(disk, { accounts: ACCOUNTS, initialBalance: INITIAL });
  const recoveries: RecoveryEvent[] = [];
  let gaveUp = false;
  rt.manager.on('recovery', (e: RecoveryEvent) => { if (e.device === name) recoveries.push(e); });
  rt.manager.on('gave-up', (e: { device: string }) => { if (e.device === name) gaveUp = true; });
  const faults = new FaultLoop(rt, name, mulberry32(seed), on.kinds);
  let stats: TransferStats;
  try {
    const random = mulberry32(seed + 1);
    stats = await bank.run(transfers, random);
    // Until every fault kind fell while transfers ran (a count, not a time: a fast run would
    // end before the loop got round them all), in batches of 50 more transfers, at most 60.
    for (let batch = 0; batch < 60 && on.kinds.some((k) => !faults.injected[k]) && stats.failed === 0; batch++) {
      const more = await bank.run(50, random, stats.committed + stats.failed + 1);
      stats = { ...stats, committed: stats.committed + more.committed, failed: stats.failed + more.failed,
        committedSeqs: [...stats.committedSeqs, ...more.committedSeqs], elapsedMs: stats.elapsedMs + more.elapsedMs,
        ...(stats.firstError ?? more.firstError ? { firstError: stats.firstError ?? more.firstError } : {}) };
    }
  } finally {
    // A `contract` fault acts on the driver's next call: give it one, so the last fault is
    // recovered instead of waiting out its deadline. Under restart-only the device lost its
    // open and refuses the read before the driver sees it; an open does reach the driver.
    const stopped = faults.stop();
    await disk.read(0, 4096).catch(async (error: { code?: string }) => {
      if (error.code === ErrorCodes.NOT_OPEN) await disk.open().catch(() => {});
    });
    await stopped;
  }
  if (recovery === 'shadow') {
    await bank.close();
  } else {
    // What is left on the disk, as an operator would find it: open the device again to look.
    await bank.close().catch(() => {});
    await disk.open().catch(() => {});
  }
  const cli = await checkWithSqliteCli(bank.vfs);
  return { stats, recoveries, faults, cli, gaveUp, deviceErrors: bank.vfs.deviceErrors };
}

function rate(stats: TransferStats): string {
  return `${((stats.committed / stats.elapsedMs) * 1000).toFixed(0)} transactions/s`;
}

/** Under shadow recovery: every transfer committed, and sqlite3 finds the database sound and exact. */
function assertSound(outcome: Outcome, transfers: number): void {
  const { stats, recoveries, faults, cli, gaveUp } = outcome;
  assert.equal(gaveUp, false, 'the device gave up');
  assert.equal(stats.failed, 0, `failed transfers; first: ${JSON.stringify(stats.firstError)}`);
  assert.ok(stats.committed >= transfers, `${stats.committed} of ${transfers} transfers committed`);
  assert.ok(recoveries.length >= 3, `only ${recoveries.length} recoveries`);
  assert.deepEqual(faults.unrecovered, []);
  assert.ok(new Set(recoveries.map((e) => e.cause)).size >= 3, 'fewer than 3 failure causes');
  assert.equal(cli.integrity, 'ok');
  assert.equal(cli.total, ACCOUNTS * INITIAL, 'money was created or lost');
  assert.equal(cli.mismatchedAccounts, 0, 'balances disagree with the ledger');
  assert.equal(cli.ledger, stats.committed, 'ledger rows differ from committed transfers');
  assert.deepEqual(cli.seqs, stats.committedSeqs, 'the ledger is not exactly the committed transfers');
}

function describeShadow(label: string, outcome: Outcome, transfers: number): string {
  const { stats, recoveries, faults, cli } = outcome;
  const causes: Record<string, number> = {};
  for (const e of recoveries) causes[e.cause] = (causes[e.cause] ?? 0) + 1;
  return `${label}: ${stats.committed}/${transfers} committed in ${(stats.elapsedMs / 1000).toFixed(1)} s `
    + `(${rate(stats)}), ${recoveries.length} recoveries ${JSON.stringify(causes)}, faults ${JSON.stringify(faults.injected)}, `
    + `integrity ${cli.integrity}`;
}

describe('database: SQLite on a shadowed disk', () => {
  test('shadow: every transfer commits across driver failures, and sqlite3 finds the database sound', { skip: requires('sqlite3') }, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    // 10,000 run in 35–65 s here, depending on the load on the machine; DATABASE_TRANSFERS sets it.
    const transfers = Number(process.env.DATABASE_TRANSFERS ?? 5000);
    try {
      const outcome = await bankUnderFaults(rt, 'bank-shadow', 'shadow', transfers, 7);
      console.log(describeShadow('shadow', outcome, transfers));
      assertSound(outcome, transfers);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });

  // The disk is a real NBD server's: the nbd driver's connection to nbdkit is driver state each
  // recovery brings back, and each of SQLite's syncs is an NBD_CMD_FLUSH on it.
  for (const domain of ['worker', 'process'] as const) {
    test(`shadow, nbd driver (${domain}) on nbdkit: every transfer commits across failures of every kind`, { skip: requires('nbdkit', 'sqlite3') }, async () => {
      const before = snapshot();
      const dir = await mkdtemp(join(tmpdir(), 'shadow-bank-nbd-'));
      const rt = createRuntime({ faultInjection: true });
      // A process-domain recovery (a new process) takes longer, and faults come as often: fewer
      // transfers keep the test's length near the worker's (25 s and 40 s here).
      const transfers = Number(process.env.DATABASE_NBD_TRANSFERS ?? (domain === 'worker' ? 2000 : 500));
      const server = nbdkit(dir, 'memory', [ONE_THREAD, 'memory', `${16 << 20}`]);
      try {
        await server.start();
        const outcome = await bankUnderFaults(rt, `bank-nbd-${domain}`, 'shadow', transfers, 11, {
          spec: {
            driver: 'nbd', domain, config: { url: server.uri },
            heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5,
          },
          kinds: allKinds,
        });
        console.log(describeShadow(`shadow over nbd (${domain})`, outcome, transfers));
        assertSound(outcome, transfers);
        assert.deepEqual(Object.keys(outcome.faults.injected).sort(), [...allKinds].sort(), 'some fault kind was never injected');
      } finally {
        await rt.close();
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      }
      await expectNoLeaks(before);
    });
  }

  // A disk image the kernel holds, its driver in a process domain: each of SQLite's syncs is an
  // fdatasync of the image through the kernel's sync service.
  test('shadow, file driver (process) on a disk image: every transfer commits across failures of every kind', { skip: requires('sqlite3') }, async () => {
    const before = snapshot();
    const dir = await mkdtemp(join(tmpdir(), 'shadow-bank-file-'));
    const image = join(dir, 'bank.img');
    await writeFile(image, new Uint8Array(0));
    await truncate(image, 16 << 20);
    const rt = createRuntime({ faultInjection: true });
    const transfers = Number(process.env.DATABASE_FILE_TRANSFERS ?? 500);
    try {
      const outcome = await bankUnderFaults(rt, 'bank-file', 'shadow', transfers, 13, {
        spec: { driver: 'file', domain: 'process', config: { path: image }, heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5 },
        kinds: allKinds,
      });
      console.log(describeShadow('shadow over file (process)', outcome, transfers));
      assertSound(outcome, transfers);
      assert.deepEqual(Object.keys(outcome.faults.injected).sort(), [...allKinds].sort(), 'some fault kind was never injected');
    } finally {
      await rt.close();
      await rm(dir, { recursive: true, force: true });
    }
    await expectNoLeaks(before);
  });

  test('restart-only: the same workload sees the driver failures as database errors', { skip: requires('sqlite3') }, async () => {
    const before = snapshot();
    const rt = createRuntime({ faultInjection: true });
    const transfers = 2000;
    try {
      const { stats, recoveries, faults, cli, deviceErrors } = await bankUnderFaults(rt, 'bank-restart', 'restart', transfers, 7);
      console.log(`restart-only: ${stats.committed}/${transfers} committed, ${stats.failed} failed `
        + `(first: ${JSON.stringify(stats.firstError)}; device errors ${JSON.stringify(deviceErrors)}), `
        + `${recoveries.length} restarts, `
        + `faults ${JSON.stringify(faults.injected)}; sqlite3 on what is left: integrity ${cli.integrity}, `
        + `total ${cli.total}, ledger ${cli.ledger}, mismatched accounts ${cli.mismatchedAccounts}`);
      assert.ok(recoveries.length >= 1, 'no driver failure happened');
      assert.ok(stats.failed > 0, 'restart-only recovery passed silently');
      assert.ok(stats.firstError?.device?.startsWith('SD_ERR_'), `no coded device error under the database error: ${JSON.stringify(stats.firstError)}`);
    } finally {
      await rt.close();
    }
    await expectNoLeaks(before);
  });
});
