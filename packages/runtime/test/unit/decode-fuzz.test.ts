/**
 * The boundary fuzzed: arbitrary values and message sequences, as a hostile or broken driver
 * could post them, go through the decoder. It never throws; what it accepts is exactly a plain
 * message of the wire schema (re-decoding it gives the same); what it refuses carries a reason.
 * A seeded 100,000 cases here (SHADOW_FUZZ_RUNS for more; SHADOW_SEED replays a failure).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeBatch } from '../../src/isolation/decode.js';

const runs = Number(process.env.SHADOW_FUZZ_RUNS ?? 100_000);
const seed = process.env.SHADOW_SEED === undefined ? 0x5eed : Number(process.env.SHADOW_SEED);

/** Values near the schema: the right tags with fields of any type, plus anything at all. */
const field = fc.oneof(fc.anything(), fc.integer(), fc.string(), fc.boolean(), fc.constant(undefined), fc.constant(null));
const nearMessage = fc.record({
  t: fc.oneof(fc.constantFrom('loaded', 'load-failed', 'reply', 'service', 'pong', 'fault'), fc.string()),
  id: field, ok: field, value: field, error: fc.oneof(field, fc.record({ message: field, code: field, name: field })),
  device: field, name: field, args: field, seq: field, kind: fc.oneof(field, fc.constantFrom('exception', 'rejection')),
}, { requiredKeys: ['t'] });
const batch = fc.oneof(fc.anything(), fc.array(fc.oneof(nearMessage, fc.anything()), { maxLength: 12 }));

test(`the decoder never throws, and accepts only plain schema messages (${runs.toLocaleString()} cases)`, () => {
  fc.assert(fc.property(batch, (raw) => {
    const decoded = decodeBatch(raw);
    if (!decoded.ok) {
      assert.ok(decoded.problem.length > 0);
      return;
    }
    for (const m of decoded.messages) {
      assert.equal(Object.getPrototypeOf(m), Object.prototype, 'a decoded message is a plain object');
      assert.ok(['loaded', 'load-failed', 'reply', 'service', 'pong', 'fault'].includes(m.t));
      if ('error' in m) assert.equal(typeof m.error.message, 'string');
      if ('id' in m) assert.ok(Number.isSafeInteger(m.id));
    }
    const again = decodeBatch(decoded.messages);
    assert.ok(again.ok);
    assert.deepEqual(again.messages, decoded.messages);
  }), { numRuns: runs, seed });
});
