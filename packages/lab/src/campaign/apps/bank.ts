/** Database: the wa-sqlite bank on a `ram` disk, the fault injected halfway through the transfers. */
import { Bank } from '../../apps/database/bank.js';
import type { CampaignApp } from './context.js';

const MiB = 1024 * 1024;
const TRANSFERS = 60;

export const bankApp: CampaignApp = {
  name: 'bank', className: 'block', paperRow: 'storage: database (SQLite transfers)',
  async run({ rt, random, spec, inject, scale = 1 }) {
    const disk = await rt.attachBlock(spec('db0', { className: 'block', driver: 'ram', config: { sizeBytes: 4 * MiB } }, true));
    await disk.open();
    const bank = await Bank.open(disk, { accounts: 20, initialBalance: 1000 });
    const first = await bank.run(TRANSFERS / 2, random, 1);
    await inject();
    const second = await bank.run((TRANSFERS / 2) * scale, random, 1 + TRANSFERS / 2);
    const committed = [...first.committedSeqs, ...second.committedSeqs];
    const errors = first.failed + second.failed;
    let verified = false;
    let detail: string;
    try {
      const check = await bank.check();
      const seqs = await bank.seqs();
      const integrity = await bank.integrityCheck();
      verified = check.total === 20 * 1000 && check.mismatchedAccounts === 0 && integrity === 'ok'
        && JSON.stringify(seqs) === JSON.stringify(committed);
      detail = `${committed.length} of ${(TRANSFERS / 2) * (1 + scale)} committed, ${errors} failed; total ${check.total}, ` +
        `${check.mismatchedAccounts} mismatched accounts, ledger ${seqs.length}, integrity ${integrity}` +
        (first.firstError ?? second.firstError ? `; first error: ${(first.firstError ?? second.firstError)!.sqlite}` : '');
      await bank.close();
    } catch (err) {
      detail = `the database could not be checked: ${(err as Error).message}`;
    }
    return { finished: true, errors, verified, detail };
  },
};
