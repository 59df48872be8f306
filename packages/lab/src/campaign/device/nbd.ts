/**
 * Device-level faults of a real NBD server (nbdkit, started by the trial in its scratch
 * directory and gone with it): the error filter answering EIO for a while, and the pause
 * filter stalling every request for longer than the runtime's request deadline.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from 'shadow-drivers';
import { nbdkit, ONE_THREAD } from '../../harness/nbdkit.js';
import type { AppContext } from '../apps/context.js';
import { until } from '../apps/dataset.js';
import type { AppReport } from '../types.js';
import { BlockWriter } from './block-writer.js';
import { watchDriver, type DeviceScenario } from './scenario.js';

const DEVICE = 'disk0';
const BLOCKS = 128;
const EIO_MS = 300;
/** Twice the read/write deadline of a campaign trial (2 s × deadlineScale 0.5). */
const STALL_MS = 2000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the block writer on an nbdkit disk with `filter`, applying `fault` once it is under way. */
async function onNbdkit(context: AppContext, filterArgs: (dir: string) => string[],
  fault: (dir: string) => Promise<string>): Promise<AppReport> {
  const { rt, spec, inject, random, scale = 1 } = context;
  const dir = mkdtempSync(join(tmpdir(), 'nbd-device-'));
  const server = await nbdkit(dir, 'disk', [ONE_THREAD, ...filterArgs(dir)]).start();
  try {
    const seen = watchDriver(context, DEVICE);
    const disk: BlockDevice = await rt.attachBlock(spec(DEVICE, { className: 'block', driver: 'nbd', config: { socket: server.socket } }, true));
    await disk.open();
    const writer = new BlockWriter(disk, BLOCKS, random);
    writer.start();
    await until(() => writer.stats.requests >= 100 || writer.stats.errors > 0, 10_000);
    await inject();
    const what = await fault(dir);
    const after = writer.stats.requests;
    await until(() => writer.stats.requests >= after + 200 * scale || writer.stats.errors > 0, 20_000 * scale);
    await writer.stop();
    await writer.verify();
    const s = writer.stats;
    return {
      finished: true, errors: s.errors, verified: s.mismatches === 0,
      detail: `${what}; ${s.deviceErrors} requests refused with SD_ERR_IO and retried, ${s.errors} other errors, ` +
        `${s.mismatches} blocks differ; driver failures ${seen.failures}, recoveries ${seen.recoveries}; ` +
        `longest request ${Math.round(s.longestMs)} ms${s.problems[0] ? `: ${s.problems[0]}` : ''}`,
      deviceErrors: s.deviceErrors,
      driverFailures: seen.failures,
    };
  } finally {
    await rt.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const nbdEio: DeviceScenario = {
  name: 'nbd-eio', className: 'block',
  fault: `nbdkit's error filter fails every read and write with EIO for ${EIO_MS} ms`,
  expected: 'each refused request reaches the application as SD_ERR_IO, the device\'s own answer: no driver failure, no recovery; the application retries and every block verifies',
  async run(context) {
    const report = await onNbdkit(context, (dir) => ['--filter=error', 'memory', '8M', 'error-rate=100%', `error-file=${join(dir, 'fail')}`],
      async (dir) => {
        writeFileSync(join(dir, 'fail'), '');
        await pause(EIO_MS);
        rmSync(join(dir, 'fail'));
        return `EIO for ${EIO_MS} ms`;
      });
    // Handled as the contract says: the device's errors were seen, and they were not taken for a driver failure.
    return { ...report, verified: report.verified && (report.deviceErrors ?? 0) > 0 && report.driverFailures === 0 };
  },
};

export const nbdStall: DeviceScenario = {
  name: 'nbd-stall', className: 'block',
  fault: `nbdkit's pause filter holds every request for ${STALL_MS} ms, twice the request deadline`,
  expected: 'the silent device looks like a hung driver: the shadow restarts the driver and resubmits, the requests complete once the device answers; the application sees a pause, no error, every block verifies',
  async run(context) {
    return onNbdkit(context, (dir) => ['--filter=pause', 'memory', '8M', `pause-control=${join(dir, 'pause.sock')}`],
      async (dir) => {
        const control = connect(join(dir, 'pause.sock'));
        const answer = (letter: string) => new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`nbdkit's pause filter did not answer ${letter}`)), 10_000);
          control.on('data', (d: Buffer) => { if (d.includes(letter)) { clearTimeout(timer); resolve(); } });
          control.once('error', reject);
        });
        try {
          const paused = answer('P');
          control.write('p');
          await paused;
          await pause(STALL_MS);
          const resumed = answer('R');
          control.write('r');
          await resumed;
        } finally {
          control.destroy();
        }
        return `stalled for ${STALL_MS} ms`;
      });
  },
};
