/** Storage: the checksummed data set on a `ram` disk, the fault injected once it is half written. */
import { ChecksummedDataset } from '../../apps/checksummed-dataset.js';
import type { CampaignApp } from './context.js';

const MiB = 1024 * 1024;

export const datasetApp: CampaignApp = {
  name: 'dataset', className: 'block', paperRow: 'storage: checksummed data set (the paper\'s compiler/encoder I/O pattern)',
  async run({ rt, random, spec, inject, scale = 1 }) {
    const disk = await rt.attachBlock(spec('disk0', { className: 'block', driver: 'ram', config: { sizeBytes: 8 * MiB } }, true));
    const app = new ChecksummedDataset(disk, { random, queueDepth: 4 });
    await app.open();
    app.start();
    const target = app.blocks / 2;
    await until(() => app.stats.blocksWritten >= target || app.stats.errors > 0, 20_000);
    await inject();
    const after = app.stats.reads + app.stats.writes;
    await until(() => app.stats.reads + app.stats.writes >= after + 400 * scale || app.stats.errors > 20, 20_000 * scale);
    await app.stop();
    await app.verifyAll();
    const s = app.stats;
    return {
      finished: true, errors: s.errors, verified: s.mismatches === 0,
      detail: `${s.blocksVerified} blocks verified, ${s.mismatches} mismatched, ${s.errors} errors${s.problems[0] ? `: ${s.problems[0]}` : ''}`,
    };
  },
};

/** Waits for a condition by turns of the event loop, up to a deadline (then carries on). */
export async function until(condition: () => boolean, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}
