/**
 * The paper's database row: transfers between accounts through the sqlite3 shell (WAL,
 * synchronous=FULL, one transaction per transfer) on a kernel ext4 over the shadowed disk;
 * the fault is injected after the first half. Verified with sqlite3 itself: integrity_check,
 * the money all there, the ledger holding every transfer, the balances equal to a model;
 * then a clean `e2fsck -fn`.
 */
import type { CampaignApp } from './context.js';
import { onKernelExt4 } from './kernel-ext4.js';

const MiB = 1024 * 1024;
const ACCOUNTS = 50;
const START = 1000;
const BATCH = 50;

export const databaseApp: CampaignApp = {
  name: 'database', className: 'block', realTools: true, paperRow: 'storage: database (the sqlite3 shell on ext4)',
  async run(context) {
    const transfers = BATCH * 2 * (1 + (context.scale ?? 1));
    return onKernelExt4(context, 'disk0', 32 * MiB, async (fs) => {
      const db = `${fs.mountpoint}/bank.db`;
      const sqlite = async (sql: string) => (await fs.run('sqlite3', ['-bail', db], { input: `${sql}\n` })).stdout.trim();
      const balances = new Array<number>(ACCOUNTS).fill(START);
      await sqlite(['PRAGMA journal_mode=WAL;',
        'CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);',
        'CREATE TABLE ledger(id INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount INTEGER NOT NULL);',
        'BEGIN;', ...balances.map((b, id) => `INSERT INTO accounts VALUES(${id}, ${b});`), 'COMMIT;'].join('\n'));
      for (let done = 0; done < transfers; done += BATCH) {
        if (done === BATCH * 2) await context.inject();
        const sql = ['PRAGMA synchronous=FULL;'];
        for (let t = done; t < done + BATCH; t++) {
          const src = Math.floor(context.random() * ACCOUNTS);
          const dst = (src + 1 + Math.floor(context.random() * (ACCOUNTS - 1))) % ACCOUNTS;
          const amount = Math.floor(context.random() * 50) + 1;
          balances[src]! -= amount;
          balances[dst]! += amount;
          sql.push(`BEGIN; UPDATE accounts SET balance = balance - ${amount} WHERE id = ${src}; `
            + `UPDATE accounts SET balance = balance + ${amount} WHERE id = ${dst}; `
            + `INSERT INTO ledger(id, src, dst, amount) VALUES(${t + 1}, ${src}, ${dst}, ${amount}); COMMIT;`);
        }
        await sqlite(sql.join('\n'));
      }
      const integrity = await sqlite('PRAGMA integrity_check;');
      const total = Number(await sqlite('SELECT sum(balance) FROM accounts;'));
      const ledger = await sqlite('SELECT count(*) || \' \' || min(id) || \' \' || max(id) FROM ledger;');
      const same = (await sqlite('SELECT group_concat(balance, \',\') FROM (SELECT balance FROM accounts ORDER BY id);')) === balances.join(',');
      return {
        errors: 0, verified: integrity === 'ok' && total === ACCOUNTS * START && ledger === `${transfers} 1 ${transfers}` && same,
        detail: `${transfers} transfers; integrity ${integrity}, total ${total} of ${ACCOUNTS * START}, ledger (count min max) ${ledger}, ` +
          `balances ${same ? 'as the model' : 'differ from the model'}`,
      };
    });
  },
};
