/**
 * The process domain's framing: whatever way the byte stream is cut, the frames come out whole
 * and in order; bytes that are not a frame are a problem, never an exception.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { encodeFrame, FrameReader, MAX_FRAME } from '../../src/isolation/frames.js';
import { wireBatch } from '../helpers/wire-corpus.js';

const bytesOf = (values: unknown[]): Buffer => Buffer.concat(values.map((v) => encodeFrame(v)));

test('frames cut anywhere come out whole and in order', () => {
  fc.assert(fc.property(fc.array(wireBatch, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (values, cuts) => {
    const bytes = bytesOf(values);
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const reader = new FrameReader();
    const out: unknown[] = [];
    let at = 0;
    for (const point of [...points, bytes.length]) {
      const frames = reader.push(bytes.subarray(at, point));
      assert.equal(frames.problem, undefined);
      out.push(...frames.values);
      at = point;
    }
    assert.deepEqual(out, values.map((v) => deserialize(serialize(v))));
  }), { numRuns: 2000, seed: 0x5eed });
});

test('bytes that are not a frame are a problem, and nothing is read after them', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['garbage', Buffer.from([0, 0, 0, 4, 0xff, 0x0f, 0x99, 0x99]), /not a serialized message/],
    ['a length no frame may have', Buffer.from([0xff, 0xff, 0xff, 0xff, 1]), new RegExp(`at most ${MAX_FRAME}`)],
    ['an empty frame', Buffer.from([0, 0, 0, 0]), /not a serialized message/],
  ];
  for (const [what, bad, problem] of cases) {
    const reader = new FrameReader();
    const frames = reader.push(Buffer.concat([bytesOf([[{ t: 'pong', seq: 1 }]]), bad]));
    assert.deepEqual(frames.values, [[{ t: 'pong', seq: 1 }]], what);
    assert.match(frames.problem ?? '', problem, what);
    assert.deepEqual(reader.push(bytesOf([1])), { values: [] }, what);
  }
});
