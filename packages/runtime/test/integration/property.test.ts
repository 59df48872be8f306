/**
 * Property: over random schedules of concurrent requests and driver faults, every request
 * completes exactly as a fault-free run would, or fails with a coded outcome that matches
 * the rules (gave-up: not-executed for what never ran, indeterminate for writes caught in
 * flight; a read never returns data the disk could not hold).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { createRuntime, ErrorCodes, isShadowError, type FaultKind } from '../../src/index.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';

const BLOCKS = 16;
const faults: FaultKind[] = ['exit', 'kill', 'throw', 'rejection', 'contract', 'bad-kernel-call', 'abort'];

type Op = { op: 'write' | 'read'; block: number } | { op: 'flush' };
interface Group { ops: Op[]; fault: FaultKind | undefined }

const group: fc.Arbitrary<Group> = fc.record({
  ops: fc.uniqueArray(fc.integer({ min: 0, max: BLOCKS - 1 }), { minLength: 1, maxLength: 8 })
    .chain((blocks) => fc.tuple(...blocks.map((block) => fc.constantFrom<Op>(
      { op: 'write', block }, { op: 'read', block }, { op: 'flush' })))),
  fault: fc.option(fc.constantFrom(...faults), { nil: undefined, freq: 2 }),
});

const schedule = fc.record({ groups: fc.array(group, { minLength: 1, maxLength: 8 }), intensity: fc.constantFrom(2, 100) });

/** Which generations a block may hold: one when known, more after an indeterminate write. */
class Model {
  readonly possible: Set<number>[] = Array.from({ length: BLOCKS }, () => new Set([0]));
  generation = 0;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

async function runGroup(disk: Awaited<ReturnType<ReturnType<typeof createRuntime>['attachBlock']>>,
  model: Model, g: Group, inject: (k: FaultKind) => void, gaveUp: () => boolean): Promise<void> {
  const issued = g.ops.map(async (op) => {
    if (op.op === 'flush') return disk.flush();
    if (op.op === 'read') {
      const data = await disk.read(op.block * BLOCK, BLOCK);
      const match = [...model.possible[op.block]!].find((gen) => same(data, gen === 0 ? new Uint8Array(BLOCK) : blockContent(op.block, gen)));
      assert.ok(match !== undefined, `block ${op.block} holds data it never had`);
      model.possible[op.block] = new Set([match]);
      return;
    }
    const gen = ++model.generation;
    try {
      await disk.write(op.block * BLOCK, blockContent(op.block, gen));
      model.possible[op.block] = new Set([gen]);
    } catch (err) {
      if (isShadowError(err) && err.outcome === 'indeterminate') model.possible[op.block]!.add(gen);
      throw err;
    }
  });
  if (g.fault && !gaveUp()) inject(g.fault);
  const results = await Promise.allSettled(issued);
  for (const r of results) {
    if (r.status === 'fulfilled') continue;
    const err = r.reason;
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(gaveUp() && isShadowError(err, ErrorCodes.GAVE_UP), `unexpected failure: ${String(err)}`);
    assert.ok(err.outcome === 'not-executed' || err.outcome === 'indeterminate', `outcome ${err.outcome}`);
  }
}

test('random schedules of requests and faults: exact results or coded outcomes', async () => {
  await fc.assert(fc.asyncProperty(schedule, async ({ groups, intensity }) => {
    const rt = createRuntime({ faultInjection: true });
    let gaveUp = false;
    rt.manager.on('gave-up', () => { gaveUp = true; });
    try {
      const disk = await rt.attachBlock({
        name: 'prop', driver: 'ram', config: { sizeBytes: BLOCKS * BLOCK },
        restart: { intensity, periodMs: 60_000, baseDelayMs: 1, maxDelayMs: 4 },
      });
      await disk.open();
      const model = new Model();
      for (const g of groups) await runGroup(disk, model, g, (kind) => rt.inject('prop', { kind }), () => gaveUp);
      // Without a give-up no write may end indeterminate; then every block holds what the
      // model says (reads fail only with the give-up's coded error).
      if (!gaveUp) model.possible.forEach((p, b) => assert.equal(p.size, 1, `block ${b} uncertain without a give-up`));
      await runGroup(disk, model, { ops: Array.from({ length: BLOCKS }, (_, block) => ({ op: 'read', block })), fault: undefined },
        () => undefined, () => gaveUp);
    } finally {
      await rt.close();
    }
  }), { numRuns: 40, seed: 20261127, endOnFailure: true });
});
