/**
 * Calls and replies packed for the crossing (packed.ts): what the other side unpacks is what
 * was packed, in the batch's order; the kernel's decoder expands a domain's packed replies only
 * when every triple is well formed; and a thread domain's answer in the buffer its call was lent
 * is copied into the caller's buffer, never read past that buffer's end.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { decodeBatch } from '../../src/isolation/decode.js';
import { MAX_PACKED_REPLIES, packCalls, packReplies, unpackCalls } from '../../src/isolation/packed.js';
import type { FromDomain, ToDomain, ToDomainWire } from '../../src/isolation/protocol.js';
import { blockChannelOn } from '../helpers/fake-domain.js';

const unpack = (batch: ToDomainWire[]): ToDomain[] => batch.flatMap((m) => (m.t === 'calls' ? unpackCalls(m) : [m]));

test('runs of simple calls travel packed and come out as they went in, in order', () => {
  const view = new Uint8Array(new SharedArrayBuffer(8192), 4096, 4096);
  const batch: ToDomain[] = [
    { t: 'call', id: 1, entry: 'read', args: { offset: 0, length: 4096, into: view } },
    { t: 'call', id: 2, entry: 'write', args: { offset: 4096, data: new Uint8Array([1, 2, 3]) } },
    { t: 'call', id: 3, entry: 'flush', args: {} },
    { t: 'ping', seq: 7 },
    { t: 'call', id: 4, entry: 'configure', args: { setting: 'writeCache', value: 'writeback' } },
    { t: 'call', id: 5, entry: 'read', args: { offset: 8192, length: 512 } },
    { t: 'call', id: 6, entry: 'read', args: { offset: 0.5, length: -1 } },
    { t: 'call', id: 7, entry: 'write', args: { offset: 0, data: new Uint8Array(2) }, slots: { data: [0, 2] } },
    { t: 'call', id: 8, entry: 'read', args: JSON.parse('{"__proto__": 1, "length": 2}') as unknown },
  ];
  const packed = packCalls(batch);
  assert.deepEqual(packed.map((m) => m.t), ['calls', 'ping', 'call', 'calls', 'call', 'call']);
  assert.deepEqual(unpack(packed), batch);
  // The buffer is the same object, not a copy (a structured clone makes the copy, once).
  assert.equal((unpack(packed)[0] as { args: { into: Uint8Array } }).args.into, view);
  // A call alone travels as it is.
  const one: ToDomain[] = [{ t: 'call', id: 9, entry: 'read', args: { offset: 0, length: 1 } }];
  assert.deepEqual(packCalls(one), one);
});

test('runs of simple replies travel as [id, kind, value] triples and decode to the replies that went in', () => {
  const batch: FromDomain[] = [
    { t: 'reply', id: 1, ok: true, value: undefined },
    { t: 'reply', id: 2, ok: true, value: 4096 },
    { t: 'reply', id: 3, ok: true, value: undefined, inSlot: 512 },
    { t: 'pong', seq: 1 },
    { t: 'reply', id: 4, ok: true, value: { sizeBytes: 1 } },
    { t: 'reply', id: 5, ok: false, error: { message: 'EIO' }, device: true },
    { t: 'reply', id: 6, ok: true, value: -0.5 },
    { t: 'reply', id: 7, ok: true, value: undefined },
  ];
  const packed = packReplies(batch);
  assert.deepEqual(packed.map((m) => m.t), ['replies', 'pong', 'reply', 'reply', 'replies']);
  const decoded = decodeBatch(structuredClone(packed));
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.messages, batch);
  // More than one message holds: the run is cut.
  const many: FromDomain[] = Array.from({ length: MAX_PACKED_REPLIES + 3 }, (_, i) => ({ t: 'reply', id: i + 1, ok: true, value: i }));
  const cut = packReplies(many);
  assert.deepEqual(cut.map((m) => m.t), ['replies', 'replies']);
  const again = decodeBatch(cut);
  assert.ok(again.ok);
  assert.deepEqual(again.messages, many);
});

test('a packed reply that is not well formed is refused with a reason', () => {
  const cases: [unknown, RegExp][] = [
    [{ t: 'replies', r: [1, 0, 0] }, /not a Float64Array/],
    [{ t: 'replies', r: new Uint8Array(3) }, /not a Float64Array/],
    [{ t: 'replies', r: Float64Array.of(1, 0) }, /triples/],
    [{ t: 'replies', r: Float64Array.of(1.5, 0, 0) }, /id is not an integer/],
    [{ t: 'replies', r: Float64Array.of(Number.NaN, 0, 0) }, /id is not an integer/],
    [{ t: 'replies', r: Float64Array.of(1, 3, 0) }, /unknown kind/],
    [{ t: 'replies', r: Float64Array.of(1, 0, 5) }, /no value with a value/],
    [{ t: 'replies', r: Float64Array.of(1, 2, -1) }, /slot length/],
    [{ t: 'replies', r: Float64Array.of(1, 2, 2.5) }, /slot length/],
    [{ t: 'replies', r: new Float64Array((MAX_PACKED_REPLIES + 1) * 3) }, /more than/],
    [{ t: 'replies' }, /not a Float64Array/],
  ];
  for (const [message, reason] of cases) {
    const decoded = decodeBatch([message]);
    assert.equal(decoded.ok, false, `${JSON.stringify(message)} was accepted`);
    assert.match(decoded.ok ? '' : decoded.problem, reason);
  }
});

const threadDomain = () => blockChannelOn({ kind: 'worker' });

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a thread domain\'s answer in its lent buffer is copied into the caller\'s; one longer than the buffer fails the driver', async () => {
  const wire = threadDomain();
  const into = new Uint8Array(4096);
  const read = wire.channel.call('read', { offset: 0, length: 4096, into });
  await settle();
  const call = wire.sent.find((m) => m.t === 'call') as Extract<ToDomain, { t: 'call' }>;
  const lent = (call.args as { into: Uint8Array }).into;
  assert.ok(lent.buffer instanceof SharedArrayBuffer && lent !== into, 'the driver got a pooled buffer, not the caller\'s');
  lent.fill(0x5a);
  wire.deliver([{ t: 'reply', id: call.id, ok: true, value: undefined, inSlot: 4096 }]);
  assert.equal(await read, into);
  assert.ok(into.every((b) => b === 0x5a));

  const next = wire.channel.call('read', { offset: 0, length: 4096 }).catch((err: Error) => err);
  await settle();
  const second = wire.sent.filter((m) => m.t === 'call').at(-1) as Extract<ToDomain, { t: 'call' }>;
  wire.deliver([{ t: 'replies', r: Float64Array.of(second.id, 2, 8192) }]);
  assert.equal(wire.failures.length, 1);
  assert.equal(wire.failures[0]!.kind, 'contract');
  assert.match(wire.failures[0]!.message, /answered 8192 bytes in a buffer of 4096/);
  assert.ok(await next instanceof Error);
});
