/**
 * copyBytes (driver/bytes.ts): what TypedArray.set does, at memcpy's speed where shared memory
 * is involved; the same bytes, the same RangeError when the source does not fit, overlapping
 * ranges copied as if through a temporary, in the kernel's thread and in a worker's.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { checkCopies } from '../fixtures/copy-check.js';

test('copyBytes copies what TypedArray.set copies, shared or not, and refuses what does not fit', () => {
  assert.deepEqual(checkCopies(), []);
});

test('copyBytes does the same in a worker thread', async () => {
  const worker = new Worker(`import('${new URL('../fixtures/copy-check.js', import.meta.url).href}').then((m) => require('node:worker_threads').parentPort.postMessage(m.checkCopies()))`,
    { eval: true });
  const problems = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  await worker.terminate();
  assert.deepEqual(problems, []);
});
