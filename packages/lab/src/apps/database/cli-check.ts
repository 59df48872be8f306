/**
 * Checks a bank database with the real sqlite3 command-line shell, outside wa-sqlite and the
 * block VFS: the database file is copied off the block device (its size from the file
 * table) into a temporary `bank.db`, then `PRAGMA integrity_check` and the invariant queries
 * run on it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkQueries, type BankCheck } from './bank.js';
import type { BlockVfs } from './block-vfs.js';

const run = promisify(execFile);

export interface CliCheck extends Partial<BankCheck> {
  /** What `PRAGMA integrity_check` printed (`ok` for a sound database), or the shell's error. */
  integrity: string;
  seqs?: number[];
  bytes: number;
}

export async function checkWithSqliteCli(vfs: BlockVfs): Promise<CliCheck> {
  const bytes = await vfs.readDatabase();
  const dir = await mkdtemp(join(tmpdir(), 'shadow-bank-'));
  try {
    const path = join(dir, 'bank.db');
    await writeFile(path, bytes);
    const sqlite3 = async (sql: string): Promise<string> =>
      (await run('sqlite3', ['-readonly', path, sql], { maxBuffer: 64 << 20 })).stdout.trim();
    let integrity: string;
    try {
      integrity = await sqlite3('PRAGMA integrity_check');
    } catch (error) {
      return { integrity: `sqlite3 failed: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`, bytes: bytes.byteLength };
    }
    if (integrity !== 'ok') return { integrity, bytes: bytes.byteLength };
    const number = async (sql: string) => Number(await sqlite3(sql));
    return {
      integrity,
      bytes: bytes.byteLength,
      total: await number(checkQueries.total),
      ledger: await number(checkQueries.ledger),
      mismatchedAccounts: await number(checkQueries.mismatchedAccounts),
      seqs: (await sqlite3(checkQueries.seqs)).split('\n').filter(Boolean).map(Number),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
