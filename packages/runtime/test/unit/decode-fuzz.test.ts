/**
 * The boundary fuzzed: arbitrary values and message sequences, as a hostile or broken driver
 * could post them, go through the decoder. It never throws; what it accepts is exactly a plain
 * message of the wire schema (re-decoding it gives the same); what it refuses carries a reason.
 * The corpus is shared with the fuzz from real domains (test/helpers/wire-corpus.ts).
 * A seeded 100,000 cases here (SHADOW_FUZZ_RUNS for more; SHADOW_SEED replays a failure).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeBatch } from '../../src/isolation/decode.js';
import { WIRE_TYPES, wireBatch } from '../helpers/wire-corpus.js';

const runs = Number(process.env.SHADOW_FUZZ_RUNS ?? 100_000);
const seed = process.env.SHADOW_SEED === undefined ? 0x5eed : Number(process.env.SHADOW_SEED);

test(`the decoder never throws, and accepts only plain schema messages (${runs.toLocaleString()} cases)`, () => {
  fc.assert(fc.property(wireBatch, (raw) => {
    const decoded = decodeBatch(raw);
    if (!decoded.ok) {
      assert.ok(decoded.problem.length > 0);
      return;
    }
    for (const m of decoded.messages) {
      assert.equal(Object.getPrototypeOf(m), Object.prototype, 'a decoded message is a plain object');
      assert.ok((WIRE_TYPES as readonly string[]).includes(m.t));
      if ('error' in m) assert.equal(typeof m.error.message, 'string');
      if ('id' in m) assert.ok(Number.isSafeInteger(m.id));
    }
    const again = decodeBatch(decoded.messages);
    assert.ok(again.ok);
    assert.deepEqual(again.messages, decoded.messages);
  }), { numRuns: runs, seed });
});
