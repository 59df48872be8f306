/**
 * Model-based tests of the shadow manager and the shadow: fast-check generates sequences of
 * commands (reads, writes, flushes and a setting, overlapping ones on the same block included;
 * the driver completing any held call; faults of every kind, in whatever state or recovery
 * phase the device is in; a restart whose driver fails to load; time passing; detach) and runs them against a block device whose driver
 * runs in an inline domain on a fake clock, holding each call until a command releases it
 * (test/helpers/block-world.ts). The model (test/helpers/block-model.ts) says what every
 * request may return. Nothing depends on real time, so a failure replays from its seed.
 *
 * A failure prints the seed, the path and a counterexample shrunk to its few steps, and the
 * command that replays exactly that counterexample:
 *   SHADOW_SEED=<seed> SHADOW_PATH=<path> SHADOW_REPLAY=<replayPath> node scripts/run-tests.mjs model-shadow
 * (SHADOW_SEED alone reruns the same runs and shrinks again; SHADOW_RUNS sets how many runs;
 * SHADOW_COVERAGE=1 prints which faults struck in which phase, and what the manager detected.)
 *
 * Shown to work on a shadow broken on purpose: in src/shadows/shadow.ts, `resubmit`, after the
 * idempotency check, a write in flight at the failure acknowledged without being resubmitted
 * (a lost write):
 *
 *   if (record.entry === 'write') { this.#finish(record); record.settle.resolve(undefined); continue; }
 *
 * The test, with a random seed, failed after 19 runs and shrank the case 4 times to 2 steps:
 *
 *   { seed: 110215140, path: "18:0:4:5:1" }
 *   Counterexample: [{"intensity":3},write(0),fault(exit)]   (replayPath "y:B")
 *   Got error: read#2(block 0) returned data of no write it may see (allowed generations 1; got 0)
 *   the medium's block 0 holds data of no write it may hold (allowed generations 1)
 *
 * (the write is held by the driver when it fails; recovery acknowledges it without
 * resubmitting it; the closing drain's read finds the block still zeros, and so does the look
 * at the medium). The printed replay command (SHADOW_SEED=110215140 SHADOW_PATH=18:0:4:5:1
 * SHADOW_REPLAY='y:B') gave the same counterexample at once (0 shrinks); SHADOW_SEED alone
 * found and shrank it again. Two more random seeds found it within 7 and 22 runs, shrunk to 3
 * steps: [write(0),fault(exit),tick(50)] and [write(0),fault(exit),flush]. (An earlier version
 * of the generator found it as [write(0),tick(2500),write(1)]: a write held past its deadline,
 * a hang.) The shadow was then restored.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { faultKinds, type FaultKind } from '../../src/faults/fault-kinds.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import type { BlockModel } from '../helpers/block-model.js';
import { BlockWorld, coverage, type WorldConfig } from '../helpers/block-world.js';

/** Few blocks: requests to the same block overlap often. */
const BLOCKS = 3;

type Command = fc.AsyncCommand<BlockModel, BlockWorld>;

function command(label: string, act: (world: BlockWorld) => void | Promise<void>,
  check: (model: Readonly<BlockModel>) => boolean = () => true): Command {
  return {
    check,
    async run(_model, world) {
      await act(world);
      await world.settle();
      world.check();
    },
    toString: () => label,
  };
}

const block = fc.integer({ min: 0, max: BLOCKS - 1 });
const commands: fc.Arbitrary<Command>[] = [
  block.map((b) => command(`write(${b})`, (w) => w.issue('write', b))),
  block.map((b) => command(`read(${b})`, (w) => w.issue('read', b))),
  fc.constant(command('flush', (w) => w.issue('flush', 0))),
  // A setting (the write cache), replayed after every restart: replay has two calls to fail in.
  fc.constantFrom(0, 1).map((v) => command(`configure(${v === 0 ? 'writeback' : 'writethrough'})`, (w) => w.issue('configure', v))),
  // The driver completes one of the calls it holds (the k-th, in arrival order).
  fc.nat(7).map((k) => command(`complete(${k})`, (w) => { w.completeHeld(k); })),
  fc.nat(7).map((k) => command(`complete(${k})`, (w) => { w.completeHeld(k); })),
  fc.constantFrom<FaultKind>(...faultKinds).map((kind) => command(`fault(${kind})`, (w) => w.fault(kind))),
  fc.constantFrom<FaultKind>(...faultKinds).map((kind) => command(`fault(${kind})`, (w) => w.fault(kind))),
  fc.oneof(
    // Time passes: backoffs end, held calls miss their deadlines (a hang), the policy forgives.
    { weight: 4, arbitrary: fc.constantFrom(50, 600, 2500).map((ms) => command(`tick(${ms})`, (w) => w.clock.advance(ms))) },
    { weight: 1, arbitrary: fc.constant(command('detach', (w) => w.detach(), (m) => m.detachedAt === undefined)) },
    // The next driver a recovery starts fails to load (a failure in the restart phase).
    { weight: 1, arbitrary: fc.constant(command('fail-next-load', (w) => w.failNextLoad())) },
  ),
];

const config: fc.Arbitrary<WorldConfig> = fc.record({ intensity: fc.constantFrom(3, 100) });

/** Runs the property; on failure, says how to replay it. */
async function assertModel(numRuns: number): Promise<void> {
  const seed = process.env.SHADOW_SEED === undefined ? undefined : Number(process.env.SHADOW_SEED);
  const path = process.env.SHADOW_PATH;
  const generated = fc.commands(commands, { maxCommands: 40, size: 'medium', replayPath: process.env.SHADOW_REPLAY });
  const property = fc.asyncProperty(config, generated, async (cfg, cmds) => {
    const world = await BlockWorld.start(BLOCKS, cfg);
    try {
      await fc.asyncModelRun(() => ({ model: world.model, real: world }), cmds);
      await world.finish();
    } finally {
      await world.close();
    }
  });
  try {
    await fc.assert(property, { numRuns, seed, path, endOnFailure: path !== undefined, includeErrorInReport: true });
  } catch (err) {
    const message = (err as Error).message;
    const replay = /seed: (-?\d+), path: "([^"]*)"/.exec(message);
    const commandsPath = /replayPath="([^"]*)"/.exec(message);
    if (replay) {
      (err as Error).message += `\nReplay: SHADOW_SEED=${replay[1]} SHADOW_PATH=${replay[2]} SHADOW_REPLAY='${commandsPath?.[1] ?? ''}' ` +
        'node scripts/run-tests.mjs model-shadow';
    }
    throw err;
  }
}

test('random interleavings of requests, completions, faults in every phase and detach: every answer as the model says', async () => {
  const before = snapshot();
  coverage.clear();
  await assertModel(Number(process.env.SHADOW_RUNS ?? 300));
  if (process.env.SHADOW_COVERAGE) console.log([...coverage].sort().map(([k, n]) => `${n}\t${k}`).join('\n'));
  if (process.env.SHADOW_SEED === undefined) {
    // The runs did reach what they are for: faults of every kind, and faults during re-init,
    // replay and resubmission (a generator that never got there would pass for nothing).
    const struck = [...coverage.keys()];
    assert.ok(struck.includes('restart failed to load'), 'no restart failed to load');
    for (const kind of [...faultKinds, 'load']) assert.ok(struck.some((k) => k.startsWith(`${kind}@`)), `no ${kind} fault was injected`);
    for (const phase of ['running', 'reinit', 'replay', 'resubmit']) {
      assert.ok(struck.some((k) => k.endsWith(`@${phase}`)), `no fault struck in ${phase}: ${struck.join(', ')}`);
    }
  }
  await expectNoLeaks(before);
});

type Step = (world: BlockWorld) => void | Promise<void>;

/** Runs fixed steps as the property runs generated ones, then the closing checks. */
async function scenario(cfg: WorldConfig, steps: Step[]): Promise<void> {
  const world = await BlockWorld.start(BLOCKS, cfg);
  try {
    for (const step of steps) {
      await step(world);
      await world.settle();
      world.check();
    }
    await world.finish();
  } finally {
    await world.close();
  }
}

/**
 * Found by the property above (first as [write(0), fault(exit), complete(0), fault(contract),
 * write(0)]; with SHADOW_KNOWN_BUGS=dead-driver, seed -543243816, path "54:0:5:7:8", replayPath
 * "y:B", shrunk to [{"intensity":3}, fault(exit), fault(contract), flush], the steps below with
 * kill for exit and a write for the flush). A contract fault that arms while a recovery is in
 * re-init breaks the next reply, open's in replay, as a duplicate completion: the first reply
 * lets the replay step succeed, the second fails the new driver. The manager hears of that
 * failure while `recovering` and leaves it to the running recovery (shadow-manager.ts, #failed),
 * but that recovery awaits no call of the dead driver any more: it resumes onto it and reports a
 * recovery. Every later request fails against the dead channel, is taken over by the shadow for
 * a resubmission no recovery will make, and stays pending for ever. Fixed: recovery checks its new
 * driver before it resumes, and starts over when that driver failed (manager/recovery.ts).
 */
test('a driver that fails during recovery after its step completed is recovered again, and requests after it are served',
  async () => {
    await scenario({ intensity: 3 }, [
      (w) => w.fault('kill'), // recovery starts; the new driver's init is held: re-init
      (w) => w.fault('contract'), // the next reply (open, in replay) will be a duplicate completion
      (w) => w.issue('write', 0), // waits for the recovery, then goes to the dead driver: never answered
    ]);
  });

/**
 * Found by the property (with SHADOW_KNOWN_BUGS=closed-outcome, seed 1942739565, path
 * "8:0:0:4:4", replayPath "QNQ:F", shrunk to [{"intensity":3}, configure(writeback), detach];
 * other seeds gave [write(0), detach] and [read(0), detach]). A request the driver holds when
 * the device is detached fails SD_ERR_CLOSED with no outcome: the shadow's give-up (shadow.ts,
 * giveUp) gives outcomes only to requests it had taken over, and forgets the ones still with the
 * driver, which the channel's close then rejects with a bare SD_ERR_CLOSED. For a write the
 * application cannot tell whether it reached the disk; the README promises an honest outcome
 * wherever a request could not be carried out (`indeterminate` here). Fixed: the channel closes
 * with an outcome for every call the driver had, and refuses later ones as not executed.
 */
test('requests in flight at detach fail SD_ERR_CLOSED with an honest outcome',
  async () => {
    await scenario({ intensity: 3 }, [
      (w) => w.issue('write', 0), // held by the driver
      (w) => w.issue('read', 0), // held by the driver
      (w) => w.detach(), // both fail SD_ERR_CLOSED, outcome undefined (should be indeterminate, not-executed)
    ]);
  });
