/** The boundary decoder against the wire schema: every valid message passes unchanged, and
 * every malformed variant is refused with a reason instead of reaching the kernel. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { decodeBatch, MAX_BATCH } from '../../src/isolation/decode.js';
import type { FromDomain } from '../../src/isolation/protocol.js';

/** One example of every variant of FromDomain (the compiler checks the list against the union). */
const valid: FromDomain[] = [
  { t: 'loaded' },
  { t: 'load-failed', error: { message: 'no such module', code: 'ERR_MODULE_NOT_FOUND', name: 'Error' } },
  { t: 'reply', id: 3, ok: true, value: new Uint8Array(4) },
  { t: 'reply', id: 5, ok: true, value: undefined, inSlot: 65536 },
  { t: 'reply', id: 4, ok: false, error: { message: 'EIO', code: 'EIO' }, device: true },
  { t: 'service', id: 1, name: 'register', args: { sizeBytes: 4096 } },
  { t: 'pong', seq: 9 },
  { t: 'fault', kind: 'rejection', error: { message: 'boom' } },
];

test('every valid message decodes to an equal plain message', () => {
  const decoded = decodeBatch(valid);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.messages, valid);
});

test('malformed batches and messages are refused with a reason, never thrown', () => {
  const getterThrows = { t: 'pong', get seq(): number { throw new Error('getter'); } };
  const proxy = new Proxy({}, { get() { throw new Error('trap'); } });
  const cases: unknown[] = [
    null, 42, 'batch', { length: 1 }, [null], [7], [[]], [{}], [{ t: 'boom' }], [{ t: 'pong' }], [{ t: 'pong', seq: 1.5 }],
    [{ t: 'reply', id: 'x', ok: true }], [{ t: 'reply', id: 1, ok: true, inSlot: -1 }], [{ t: 'reply', id: 1, ok: true, inSlot: '8' }],
    [{ t: 'reply', id: 1, ok: true, inSlot: 2.5 }], [{ t: 'reply', id: 1, ok: 'yes' }], [{ t: 'reply', id: 1, ok: false, device: true }],
    [{ t: 'reply', id: 1, ok: false, device: 'no', error: { message: 'x' } }], [{ t: 'reply', id: 1, ok: false, device: true, error: { message: {} } }],
    [{ t: 'fault', kind: 'exception' }], [{ t: 'fault', kind: 'other', error: { message: 'x' } }], [{ t: 'service', id: 1, name: 5 }],
    [{ t: 'load-failed', error: null }], [getterThrows], [proxy], new Array(MAX_BATCH + 1).fill({ t: 'pong', seq: 1 }),
  ];
  for (const [index, raw] of cases.entries()) {
    const decoded = decodeBatch(raw);
    assert.equal(decoded.ok, false, `case ${index} was accepted`);
    assert.ok(!decoded.ok && decoded.problem.length > 0);
  }
});

test('a reported error is copied into a plain, bounded value', () => {
  const long = 'x'.repeat(10_000);
  const decoded = decodeBatch([{ t: 'fault', kind: 'exception', error: { message: long, code: 'E', stack: 'dropped', extra: {} } }]);
  assert.ok(decoded.ok);
  const error = (decoded.messages[0] as Extract<FromDomain, { t: 'fault' }>).error;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message']);
  assert.ok(error.message.length <= 2001);
});
