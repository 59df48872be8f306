/**
 * The database application: a bank in SQLite (wa-sqlite, Asyncify build) on a block device,
 * through the block VFS. Accounts start with equal balances; each transfer moves money
 * between two accounts and records itself in a ledger, in one transaction. It knows nothing
 * of drivers or faults: it counts what committed, what failed and the first error it saw.
 *
 * Invariants a correct run keeps, whatever happened below it:
 * - the sum of balances is `accounts × initialBalance`;
 * - the ledger holds exactly the transfers that committed (by sequence number);
 * - each balance equals its initial value minus what the ledger says left it plus what came in.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import SQLiteESMFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs';
import type { BlockDevice } from 'shadow-drivers';
import { BlockVfs, type BlockVfsOptions } from './block-vfs.js';

export interface BankOptions extends BlockVfsOptions {
  accounts?: number;
  initialBalance?: number;
}

export interface TransferStats {
  committed: number;
  failed: number;
  /** Sequence numbers of the transfers that committed, in order. */
  committedSeqs: number[];
  /** The first failure: SQLite's message and the device error under it, if any. */
  firstError?: { sqlite: string; device?: string; deviceMethod?: string };
  elapsedMs: number;
}

export interface BankCheck {
  total: number;
  ledger: number;
  /** Accounts whose balance disagrees with the ledger. */
  mismatchedAccounts: number;
}

/** SQL the application and the sqlite3 CLI both use to check the invariants. */
export const checkQueries = {
  total: 'SELECT coalesce(sum(balance), 0) FROM accounts',
  ledger: 'SELECT count(*) FROM ledger',
  mismatchedAccounts: `SELECT count(*) FROM accounts a WHERE a.balance !=
    (SELECT initial FROM bank) - (SELECT coalesce(sum(amount), 0) FROM ledger WHERE from_id = a.id)
    + (SELECT coalesce(sum(amount), 0) FROM ledger WHERE to_id = a.id)`,
  seqs: 'SELECT seq FROM ledger ORDER BY seq',
} as const;

const require = createRequire(import.meta.url);
let vfsCount = 0;

export class Bank {
  readonly vfs: BlockVfs;
  readonly accounts: number;
  readonly initialBalance: number;
  readonly #sqlite3: SQLiteAPI;
  readonly #db: number;

  /** Opens (creating when new) the bank database on `disk`, which must be open. */
  static async open(disk: BlockDevice, options: BankOptions = {}): Promise<Bank> {
    // Node has no fetch for file URLs: the wasm file is handed over by hand.
    const wasmBinary = readFileSync(require.resolve('@journeyapps/wa-sqlite/dist/wa-sqlite-async.wasm'));
    const module = await SQLiteESMFactory({ wasmBinary });
    const sqlite3 = SQLite.Factory(module);
    const vfs = await BlockVfs.create(`block-${disk.name}-${++vfsCount}`, module, disk, options);
    sqlite3.vfs_register(vfs as unknown as SQLiteVFS, false);
    const db = await sqlite3.open_v2('bank.db', SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE, vfs.name);
    const bank = new Bank(sqlite3, db, vfs, options.accounts ?? 100, options.initialBalance ?? 1000);
    await bank.#setUp();
    return bank;
  }

  private constructor(sqlite3: SQLiteAPI, db: number, vfs: BlockVfs, accounts: number, initialBalance: number) {
    this.#sqlite3 = sqlite3;
    this.#db = db;
    this.vfs = vfs;
    this.accounts = accounts;
    this.initialBalance = initialBalance;
  }

  async #setUp(): Promise<void> {
    await this.#exec(`PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;
      CREATE TABLE IF NOT EXISTS bank (initial INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY, from_id INTEGER NOT NULL,
        to_id INTEGER NOT NULL, amount INTEGER NOT NULL)`);
    if (await this.#scalar('SELECT count(*) FROM bank') > 0) return;
    const values = Array.from({ length: this.accounts }, (_, i) => `(${i + 1}, ${this.initialBalance})`);
    await this.#exec(`BEGIN; INSERT INTO bank VALUES (${this.initialBalance});
      INSERT INTO accounts VALUES ${values.join(', ')}; COMMIT`);
  }

  /** One transfer in its own transaction. Resolves whether it committed; never throws. */
  async transfer(seq: number, from: number, to: number, amount: number): Promise<boolean> {
    try {
      await this.#exec(`BEGIN;
        UPDATE accounts SET balance = balance - ${amount} WHERE id = ${from};
        UPDATE accounts SET balance = balance + ${amount} WHERE id = ${to};
        INSERT INTO ledger VALUES (${seq}, ${from}, ${to}, ${amount});
        COMMIT`);
      return true;
    } catch (error) {
      // Leave no transaction open behind a failed one; this may fail too on a broken device.
      if (!this.#sqlite3.get_autocommit(this.#db)) await this.#exec('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /**
   * Runs `count` transfers between random accounts, one after another (sequence numbers from
   * `firstSeq`), and counts what committed. A failed transfer is counted, not retried.
   */
  async run(count: number, random: () => number, firstSeq = 1): Promise<TransferStats> {
    const stats: TransferStats = { committed: 0, failed: 0, committedSeqs: [], elapsedMs: 0 };
    const started = performance.now();
    for (let seq = firstSeq; seq < firstSeq + count; seq++) {
      const from = 1 + Math.floor(random() * this.accounts);
      const to = 1 + ((from + Math.floor(random() * (this.accounts - 1))) % this.accounts);
      const amount = 1 + Math.floor(random() * 100);
      try {
        await this.transfer(seq, from, to, amount);
        stats.committed++;
        stats.committedSeqs.push(seq);
      } catch (error) {
        stats.failed++;
        stats.firstError ??= {
          sqlite: (error as Error).message,
          device: this.vfs.lastError?.code,
          deviceMethod: this.vfs.lastError?.method,
        };
        // A device that fails at once fails in microtasks only: let the event loop turn, or
        // nothing else (the device's own recovery included) runs until the loop ends.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    stats.elapsedMs = performance.now() - started;
    return stats;
  }

  /** The invariants, as the application sees them through SQLite. */
  async check(): Promise<BankCheck> {
    return {
      total: await this.#scalar(checkQueries.total),
      ledger: await this.#scalar(checkQueries.ledger),
      mismatchedAccounts: await this.#scalar(checkQueries.mismatchedAccounts),
    };
  }

  async seqs(): Promise<number[]> {
    const out: number[] = [];
    await this.#exec(checkQueries.seqs, (row) => { out.push(Number(row[0])); });
    return out;
  }

  async integrityCheck(): Promise<string> {
    const lines: string[] = [];
    await this.#exec('PRAGMA integrity_check', (row) => { lines.push(String(row[0])); });
    return lines.join('\n');
  }

  /** Closes the database (SQLite writes what it must) and the VFS. */
  async close(): Promise<void> {
    await this.#sqlite3.close(this.#db);
    await this.vfs.close();
  }

  async #scalar(sql: string): Promise<number> {
    let value = NaN;
    await this.#exec(sql, (row) => { value = Number(row[0]); });
    return value;
  }

  async #exec(sql: string, onRow?: (row: SQLiteCompatibleType[]) => void): Promise<void> {
    await this.#sqlite3.exec(this.#db, sql, onRow);
  }
}
