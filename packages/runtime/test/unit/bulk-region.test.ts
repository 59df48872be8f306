/**
 * The process domain's data plane (bulk-region.ts) as the kernel's channel uses it: a read's
 * result lands in the caller's own buffer; a write's bytes never ride in the message; and a
 * driver that answers outside its slot, or truncates the region under it, fails alone as a
 * contract breach, never a kernel error.
 */
import { strict as assert } from 'node:assert';
import { ftruncateSync } from 'node:fs';
import { test } from 'node:test';
import { BulkRegion } from '../../src/isolation/bulk-region.js';
import { readAll, writeAll } from '../../src/isolation/region-io.js';
import type { ToDomain } from '../../src/isolation/protocol.js';
import type { DriverFailure } from '../../src/errors.js';
import { blockChannelOn } from '../helpers/fake-domain.js';

const processLike = (region: BulkRegion, service?: (name: string, args: unknown) => Promise<unknown>) =>
  blockChannelOn({ kind: 'process', region, ...(service ? { service } : {}) });

const flushed = () => new Promise<void>((resolve) => setImmediate(resolve));

function lastCall(sent: ToDomain[]): Extract<ToDomain, { t: 'call' }> {
  const call = sent.filter((m) => m.t === 'call').at(-1);
  assert.ok(call && call.t === 'call');
  return call;
}

for (const mapped of [true, false]) test(`a write crosses in a slot and a read answers into the caller's buffer (${mapped ? 'mapped' : 'file'} region)`, async () => {
  const region = new BulkRegion(1 << 20, { mapped });
  try {
    const wire = processLike(region);
    const data = new Uint8Array(65536).map((_, i) => i % 251);
    const written = wire.channel.call('write', { offset: 0, data });
    await flushed();
    const write = lastCall(wire.sent);
    assert.equal((write.args as { data?: unknown }).data, undefined, 'the bytes rode in the message');
    const [offset, length] = write.slots!.data!;
    const seen = new Uint8Array(length);
    assert.ok(readAll(region.fd, seen, offset));
    assert.deepEqual(seen, data);
    wire.deliver([{ t: 'reply', id: write.id, ok: true, value: undefined }]);
    await written;

    const into = new Uint8Array(65536);
    const read = wire.channel.call('read', { offset: 0, length: 65536, into });
    await flushed();
    const call = lastCall(wire.sent);
    const [out] = call.slots!.into!;
    writeAll(region.fd, data, out);
    wire.deliver([{ t: 'reply', id: call.id, ok: true, inSlot: 65536 }]);
    assert.equal(await read, into, 'the result is not the caller\'s own buffer');
    assert.deepEqual(into, data);
    assert.deepEqual(wire.failures, []);
  } finally {
    region.close();
  }
});

for (const [name, spoil, reply, mapped] of [
  ['a result longer than its slot', () => undefined, 65537, true],
  ['a result longer than its slot (file region)', () => undefined, 65537, false],
  ['a result in a file region the driver truncated', (region: BulkRegion) => ftruncateSync(region.fd, 0), 65536, false],
] as const) {
  test(`${name} is the driver's contract failure`, async () => {
    const region = new BulkRegion(1 << 20, { mapped });
    try {
      const wire = processLike(region);
      const read = wire.channel.call('read', { offset: 0, length: 65536 }).then(() => 'resolved', (err: DriverFailure) => err.kind);
      await flushed();
      spoil(region);
      wire.deliver([{ t: 'reply', id: lastCall(wire.sent).id, ok: true, inSlot: reply }]);
      assert.equal(await read, 'contract');
      assert.equal(wire.failures.length, 1);
      assert.equal(wire.failures[0]!.kind, 'contract');
    } finally {
      region.close();
    }
  });
}

test('the kernel maps its region sealed: a driver can neither shrink nor grow it under the mapping', () => {
  const region = new BulkRegion(1 << 20);
  try {
    assert.ok(region.mapped, 'the region is not a mapped memfd (Linux has had memfd since 3.17)');
    assert.throws(() => ftruncateSync(region.fd, 0), { code: 'EPERM' });
    assert.throws(() => ftruncateSync(region.fd, 2 << 20), { code: 'EPERM' });
    // What the driver's side writes by descriptor, the kernel reads through its mapping.
    writeAll(region.fd, Uint8Array.of(1, 2, 3), 4096);
    const into = new Uint8Array(3);
    assert.ok(region.get(4096, into));
    assert.deepEqual([...into], [1, 2, 3]);
  } finally {
    region.close();
  }
});

test('a region with no room left sends the bytes in the message, as before', async () => {
  // 112 KiB for the kernel's slots (the last eighth is the driver's): one 64 KiB write fits.
  const region = new BulkRegion(128 * 1024);
  try {
    const wire = processLike(region);
    const data = new Uint8Array(65536).fill(7);
    void wire.channel.call('write', { offset: 0, data });
    void wire.channel.call('write', { offset: 65536, data });
    await flushed();
    const [first, second] = wire.sent.filter((m) => m.t === 'call') as Extract<ToDomain, { t: 'call' }>[];
    assert.ok(first!.slots?.data);
    assert.equal(second!.slots, undefined);
    assert.deepEqual((second!.args as { data: Uint8Array }).data, data);
  } finally {
    region.close();
  }
});

for (const mapped of [true, false]) test(`an upcall's frames cross in the driver's own part of the region, read out and cut by their lengths (${mapped ? 'mapped' : 'file'} region)`, async () => {
  const region = new BulkRegion(1 << 20, { mapped });
  try {
    const calls: unknown[] = [];
    const wire = processLike(region, (_name, args) => { calls.push(args); return Promise.resolve(undefined); });
    const [start, size] = region.outbound;
    assert.equal(start + size, region.sizeBytes, 'the driver\'s part is the region\'s end');
    assert.equal(region.take(region.sizeBytes - size + 1), undefined, 'the kernel\'s slots stay out of it');
    const frames = [new Uint8Array(5000).fill(1), new Uint8Array(4000).fill(2)];
    writeAll(region.fd, frames[0]!, start);
    writeAll(region.fd, frames[1]!, start + 5000);
    const upcall = (lengths: number[], slot: [number, number]) => wire.deliver([{
      t: 'service', id: 1, name: 'upcall', args: { name: 'receive', args: { frames: lengths } }, slots: { 'args.frames': slot },
    }]);
    upcall([5000, 4000], [start, 9000]);
    // Copied out when it arrived: the driver writing there again changes nothing the kernel holds.
    writeAll(region.fd, new Uint8Array(9000), start);
    await flushed();
    assert.deepEqual(wire.failures, []);
    assert.deepEqual(calls, [{ name: 'receive', args: { frames } }]);
    assert.ok(wire.sent.some((m) => m.t === 'service-reply' && m.id === 1), 'the upcall was answered');

    for (const [lengths, slot, problem] of [
      [[4096, 4096], [0, 8192], /outside its part/],
      [[4096, 4096], [start + size - 4096, 8192], /outside its part/],
      [[100, 4096], [start, 8192], /lengths of 4196 bytes for a slot of 8192/],
      [[-1, 8193], [start, 8192], /not a whole number/],
    ] as [number[], [number, number], RegExp][]) {
      const bad = processLike(region);
      bad.deliver([{ t: 'service', id: 2, name: 'upcall', args: { name: 'receive', args: { frames: lengths } }, slots: { 'args.frames': slot } }]);
      await flushed();
      assert.equal(bad.failures.length, 1, `${JSON.stringify(slot)} ${JSON.stringify(lengths)}`);
      assert.equal(bad.failures[0]!.kind, 'bad-kernel-call');
      assert.match(bad.failures[0]!.message, problem);
    }
  } finally {
    region.close();
  }
});
