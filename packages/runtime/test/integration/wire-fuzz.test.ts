/**
 * The boundary fuzzed from real domains: a driver in a worker and in a process posts the
 * fuzzer's corpus (the one decode-fuzz.test.ts gives the decoder) straight onto its wire,
 * case by case, each incarnation until the kernel fails it. This test process is the kernel:
 * it must live through every case; each malformed case must end its driver as a contract
 * failure naming what was wrong (the manager's failure events are counted against the
 * corpus), no case the kernel took may be malformed, every call of the application settles,
 * a healthy disk beside it verifies all its data, and nothing leaks.
 *
 * Seeded: SHADOW_SEED replays a failing run (every failure message names its seed);
 * SHADOW_WIRE_FUZZ_CASES sets the corpus size per domain (250 cases in a worker, 120 in a
 * process by default, each malformed case a restart: about half a minute together on an idle
 * two-core machine; the decoder itself takes 100,000 cases in decode-fuzz.test.ts).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { createRuntime, type FailureEvent, type RecoveryEvent } from '../../src/index.js';
import { decodeBatch } from '../../src/isolation/decode.js';
import type { BlockDevice } from '../../src/kernel/block-device.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';
import { ACKED, LOG_OFFSET, POSTED, STATE_OFFSET } from '../fixtures/drivers/wire-fuzz.js';
import { wireCorpus } from '../helpers/wire-corpus.js';

const fixture = new URL('../fixtures/drivers/wire-fuzz.js', import.meta.url).href;
const seed = process.env.SHADOW_SEED === undefined ? 0x5eed : Number(process.env.SHADOW_SEED);
/** Nearly every case ends an incarnation, and a process restarts slower than a worker. */
const defaultCases = { worker: 250, process: 120 };
const casesFor = (domain: 'worker' | 'process'): number => Number(process.env.SHADOW_WIRE_FUZZ_CASES ?? defaultCases[domain]);
/** Failures a case that decodes may cause (a reply to no call, a fault, a bad service call): never a hang or a death. */
const CASE_FAILURES = ['contract', 'exception', 'rejection', 'load', 'bad-kernel-call'];
const END = 'malformed message from the driver: a batch that is not an array (string)';

/** One incarnation's work: the cases it took from the corpus and the failure that ended it. */
interface Incarnation { from: number; to: number; failure: FailureEvent }

async function nextCase(disk: BlockDevice): Promise<number> {
  const state = await disk.read(STATE_OFFSET, BLOCK);
  return new DataView(state.buffer, state.byteOffset).getUint32(4, true);
}

/** Posts a batch number: the driver answers the write, then fuzzes until it is failed. */
async function fuzzOnce(rt: ReturnType<typeof createRuntime>, disk: BlockDevice, batch: number): Promise<FailureEvent> {
  const failed = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === 'fuzzed', 60_000);
  const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'fuzzed', 60_000);
  const data = new Uint8Array(BLOCK);
  data[0] = 0xee;
  new DataView(data.buffer).setUint32(1, batch, true);
  await disk.write(BLOCK, data);
  const failure = await failed;
  await recovered;
  return failure;
}

/** What each incarnation's failure must be, given the cases it posted (the driver's log). */
function check(corpus: unknown[], log: Uint8Array, runs: Incarnation[]): { malformed: number; posted: number } {
  let malformed = 0;
  let posted = 0;
  for (const { from, to, failure } of runs) {
    let servicesTaken = false;
    for (let k = from; k < to; k++) {
      const decoded = decodeBatch(corpus[k]);
      const status = log[k];
      posted++;
      if (status === ACKED) {
        assert.ok(decoded.ok, `case ${k} is malformed (${decoded.ok ? '' : decoded.problem}) and the kernel took it`);
        servicesTaken ||= decoded.messages.some((m) => m.t === 'service');
        continue;
      }
      assert.equal(status, POSTED, `case ${k} has status ${status}`);
      assert.equal(k, to - 1, `case ${k} was not answered, yet the driver went on to case ${k + 1}`);
      assert.ok(CASE_FAILURES.includes(failure.kind), `case ${k} ended its driver as ${failure.kind}: ${failure.message}`);
      if (decoded.ok) continue;
      malformed++;
      // A service call taken just before may fail the driver first (services answer asynchronously).
      if (failure.kind === 'bad-kernel-call' && servicesTaken) continue;
      assert.equal(failure.kind, 'contract', `case ${k}: ${failure.message}`);
      assert.equal(failure.message, `malformed message from the driver: ${decoded.problem}`, `case ${k}`);
    }
    if (log[to - 1] !== POSTED) assert.equal(failure.message, END, `cases ${from}-${to - 1} were all taken`);
  }
  return { malformed, posted };
}

for (const domain of ['worker', 'process'] as const) {
  const cases = casesFor(domain);
  test(`${domain}: ${cases} fuzzed batches on the wire; the host lives, each malformed one fails its driver, a healthy disk sees nothing`, async () => {
    const before = snapshot();
    // As the driver sees it: what it deserializes is what crosses the wire.
    const corpus = deserialize(serialize(wireCorpus(seed, cases))) as unknown[];
    const dir = mkdtempSync(join(tmpdir(), 'shadow-wire-fuzz-'));
    const corpusPath = join(dir, 'corpus');
    writeFileSync(corpusPath, serialize(corpus), { mode: 0o644 });
    const rt = createRuntime();
    const failures: FailureEvent[] = [];
    rt.manager.on('failure', (e: FailureEvent) => { if (e.device === 'fuzzed') failures.push(e); });
    try {
      const healthy = await rt.attachBlock({ name: 'healthy', driver: 'ram', domain, config: { sizeBytes: 64 * BLOCK } });
      await healthy.open();
      const app = new BlockWorkload(healthy, 64);
      await app.fill();
      const fuzzed = await rt.attachBlock({
        name: 'fuzzed', driver: fixture, domain, config: { corpus: corpusPath, perIncarnation: 64 },
        resources: [{ name: 'medium', memoryBytes: LOG_OFFSET + Math.ceil(cases / BLOCK + 1) * BLOCK }],
        // Every incarnation fails on purpose: the budget and backoff are not what is tested here.
        restart: { intensity: Number.MAX_SAFE_INTEGER, stableAfterMs: 0, maxRepeated: Number.MAX_SAFE_INTEGER },
        ...(domain === 'process' ? { sandbox: { allowFsRead: [corpusPath] } } : {}),
      });
      await fuzzed.open();
      let fuzzing = true;
      const running = app.run(2, () => !fuzzing);
      const runs: Incarnation[] = [];
      try {
        for (let from = 0, batch = 1; from < corpus.length; batch++) {
          const failure = await fuzzOnce(rt, fuzzed, batch);
          const to = await nextCase(fuzzed);
          assert.ok(to > from, `incarnation ${batch} took no case`);
          runs.push({ from, to, failure });
          from = to;
        }
      } finally {
        fuzzing = false;
        await running;
      }
      const log = await fuzzed.read(LOG_OFFSET, Math.ceil(cases / BLOCK) * BLOCK);
      const { malformed, posted } = check(corpus, log, runs);
      assert.equal(failures.length, runs.length, 'one failure per incarnation, none besides');
      assert.ok(malformed > cases / 2, `only ${malformed} of ${posted} posted cases were malformed`);
      // The fuzzed device still serves, and the healthy one never noticed.
      assert.equal(rt.status('fuzzed')?.state, 'running');
      await fuzzed.write(0, new Uint8Array(BLOCK).fill(7));
      assert.equal((await fuzzed.read(0, BLOCK))[0], 7);
      await app.verifyAll();
      assert.deepEqual(app.errors, []);
      assert.equal(app.mismatches, 0);
      assert.equal(rt.status('healthy')?.recoveries, 0);
      assert.equal(rt.status('healthy')?.state, 'running');
    } catch (err) {
      (err as Error).message = `seed ${seed} (SHADOW_SEED=${seed} replays it): ${(err as Error).message}`;
      throw err;
    } finally {
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await expectNoLeaks(before);
  });
}
