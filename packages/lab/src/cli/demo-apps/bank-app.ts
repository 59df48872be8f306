/**
 * The demo's database: the wa-sqlite bank (src/apps/database) on its own disk, one transfer
 * per transaction, until stopped. Then the invariants: the money is all there, every balance
 * agrees with the ledger, the ledger holds exactly the transfers that committed, and
 * `PRAGMA integrity_check` is ok: through the real sqlite3 shell on the database copied off
 * the disk when sqlite3 is installed, through wa-sqlite itself otherwise.
 */
import { Bank, type TransferStats } from '../../apps/database/bank.js';
import { checkWithSqliteCli } from '../../apps/database/cli-check.js';
import { findTool } from '../../apps/ext4/tools.js';
import { mulberry32 } from '../../faults/schedule.js';
import type { BlockDevice } from 'shadow-drivers';
import type { AppCheck, AppOutcome, DemoApp } from './app.js';

const ACCOUNTS = 100;
const INITIAL = 1000;

export class BankApp implements DemoApp {
  readonly title = 'database';
  readonly stats: TransferStats = { committed: 0, failed: 0, committedSeqs: [], elapsedMs: 0 };
  readonly #random: () => number;
  #bank: Bank | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #problems: string[] = [];

  constructor(seed: number) {
    this.#random = mulberry32(seed);
  }

  async start(disk: BlockDevice): Promise<void> {
    this.#bank = await Bank.open(disk, { accounts: ACCOUNTS, initialBalance: INITIAL });
    this.#running = true;
    this.#loop = this.#run(this.#bank);
  }

  async #run(bank: Bank): Promise<void> {
    // One transfer at a time, so that stop() waits for one transaction at most.
    for (let seq = 1; this.#running; seq++) {
      const batch = await bank.run(1, this.#random, seq);
      this.stats.committed += batch.committed;
      this.stats.failed += batch.failed;
      this.stats.committedSeqs.push(...batch.committedSeqs);
      this.stats.elapsedMs += batch.elapsedMs;
      this.stats.firstError ??= batch.firstError;
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  async finish(): Promise<AppOutcome> {
    const bank = this.#bank;
    if (!bank) throw new Error('the database was never opened');
    const checks: AppCheck[] = [];
    const s = this.stats;
    const { total, ledger, mismatchedAccounts } = await bank.check();
    const seqs = await bank.seqs();
    checks.push({
      name: 'balances', status: total === ACCOUNTS * INITIAL && mismatchedAccounts === 0 ? 'ok' : 'failed',
      detail: `sum ${total} (expected ${ACCOUNTS * INITIAL}), ${mismatchedAccounts} accounts disagree with the ledger`,
    });
    const exact = seqs.length === s.committedSeqs.length && seqs.every((q, i) => q === s.committedSeqs[i]);
    checks.push({ name: 'ledger', status: exact ? 'ok' : 'failed', detail: `${ledger} rows, ${s.committed} transfers committed` });
    const inProcess = await bank.integrityCheck();
    await bank.close();
    if (findTool('sqlite3')) {
      const cli = await checkWithSqliteCli(bank.vfs);
      const agrees = cli.integrity === 'ok' && cli.total === total && cli.ledger === ledger && cli.mismatchedAccounts === 0;
      checks.push({ name: 'integrity_check', status: agrees ? 'ok' : 'failed', detail: `${cli.integrity}: the sqlite3 shell, on the ${cli.bytes} bytes of the database copied off the disk` });
    } else {
      checks.push({ name: 'integrity_check', status: inProcess === 'ok' ? 'ok' : 'failed', detail: `${inProcess}: wa-sqlite itself (the sqlite3 shell is not installed)` });
    }
    if (s.firstError) this.#problems.push(`first failed transfer: ${s.firstError.sqlite}${s.firstError.device ? ` (device: ${s.firstError.device})` : ''}`);
    const rate = s.elapsedMs > 0 ? ` (${((s.committed / s.elapsedMs) * 1000).toFixed(0)}/s)` : '';
    return {
      errors: s.failed, checks, problems: this.#problems,
      summary: `${s.committed} transfers committed${rate}, ${s.failed} failed`,
    };
  }

  progress(): string {
    return `${this.stats.committed} transfers`;
  }
}
