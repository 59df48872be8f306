/**
 * Offloads in the network class: a GSO frame cut in software gives the segments a NIC without
 * offloads must see (valid IP and TCP checksums, consecutive sequence numbers, the payload in
 * order, FIN/PSH on the last only), a checksum left to complete is completed, and a header
 * that lies about its frame is refused at the boundary with a reason.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkFrames } from '../../src/classes/net/frames.js';
import {
  GSO_TCPV4, GSO_TCPV6, MAX_GSO_FRAME, NEEDS_CSUM, offloadProblem, readVnetHeader, resolveOffload, writeVnetHeader, type Offload,
} from '../../src/classes/net/offload.js';

function sum(f: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let i = from; i < to; i += 2) s += (f[i]! << 8) | (i + 1 < to ? f[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** An Ethernet + IP + TCP frame with `payload` bytes (i & 0xff), flags PSH|ACK|FIN. */
function tcpFrame(v6: boolean, payload: number): { frame: Uint8Array; l3: number; l4: number } {
  const l3 = 14;
  const l4 = l3 + (v6 ? 40 : 20);
  const f = new Uint8Array(l4 + 20 + payload);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  if (v6) {
    f[12] = 0x86; f[13] = 0xdd; f[l3] = 0x60; f[l3 + 6] = 6; f[l3 + 7] = 64;
    f[l3 + 4] = ((f.length - l3 - 40) >> 8) & 0xff; f[l3 + 5] = (f.length - l3 - 40) & 0xff;
    f.fill(0x20, l3 + 8, l3 + 40); f[l3 + 23] = 1; f[l3 + 39] = 2;
  } else {
    f[12] = 0x08; f[13] = 0x00; f[l3] = 0x45; f[l3 + 8] = 64; f[l3 + 9] = 6;
    f[l3 + 2] = ((f.length - l3) >> 8) & 0xff; f[l3 + 3] = (f.length - l3) & 0xff; f[l3 + 4] = 0x12; f[l3 + 5] = 0x34;
    f.set([192, 0, 2, 1, 192, 0, 2, 2], l3 + 12);
  }
  f.set([0x30, 0x39, 0x14, 0x51, 0xff, 0xff, 0xff, 0x00], l4); // ports, a sequence number that wraps
  f[l4 + 12] = 0x50; f[l4 + 13] = 0x19; f[l4 + 14] = 0xff;
  for (let i = 0; i < payload; i++) f[l4 + 20 + i] = i & 0xff;
  return { frame: f, l3, l4 };
}

function tcpChecksumOk(seg: Uint8Array, l3: number, l4: number, v6: boolean): boolean {
  const pseudo = v6 ? sum(seg, l3 + 8, l3 + 40) : sum(seg, l3 + 12, l3 + 20);
  return sum(seg, l4, seg.length, pseudo + 6 + seg.length - l4) === 0xffff;
}

for (const v6 of [false, true]) {
  test(`a TCPv${v6 ? 6 : 4} GSO frame is cut into MTU-sized segments with valid headers`, () => {
    const { frame, l3, l4 } = tcpFrame(v6, 4000);
    const mss = v6 ? 1440 : 1448;
    const o: Offload = { flags: NEEDS_CSUM, gsoType: v6 ? GSO_TCPV6 : GSO_TCPV4, hdrLen: l4 + 20, gsoSize: mss, csumStart: l4, csumOffset: 16 };
    assert.equal(offloadProblem(frame, o, 1500), undefined);
    const copy = frame.slice();
    const segs = resolveOffload(frame, o);
    assert.deepEqual(frame, copy, 'the GSO frame is left as it was');
    assert.deepEqual(segs.map((s) => s.length - l4 - 20), [mss, mss, 4000 - 2 * mss]);
    const payload: number[] = [];
    segs.forEach((seg, i) => {
      if (v6) assert.equal((seg[l3 + 4]! << 8) | seg[l3 + 5]!, seg.length - l3 - 40);
      else {
        assert.equal((seg[l3 + 2]! << 8) | seg[l3 + 3]!, seg.length - l3);
        assert.equal(sum(seg, l3, l4), 0xffff, 'IPv4 header checksum');
        assert.equal((seg[l3 + 4]! << 8) | seg[l3 + 5]!, 0x1234 + i);
      }
      assert.ok(tcpChecksumOk(seg, l3, l4, v6), `TCP checksum of segment ${i}`);
      const seq = ((seg[l4 + 4]! << 24) | (seg[l4 + 5]! << 16) | (seg[l4 + 6]! << 8) | seg[l4 + 7]!) >>> 0;
      assert.equal(seq, (0xffffff00 + i * mss) >>> 0);
      assert.equal(seg[l4 + 13], i === segs.length - 1 ? 0x19 : 0x10, 'FIN and PSH on the last segment only');
      payload.push(...seg.subarray(l4 + 20));
    });
    assert.deepEqual(payload, [...frame.subarray(l4 + 20)]);
  });
}

test('any valid GSO frame is cut into segments that fit the MTU and carry its payload in order', () => {
  fc.assert(fc.property(fc.boolean(), fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 64, max: 1440 }), (v6, payload, mss) => {
    const { frame, l3, l4 } = tcpFrame(v6, payload);
    const o: Offload = { flags: NEEDS_CSUM, gsoType: v6 ? GSO_TCPV6 : GSO_TCPV4, hdrLen: l4 + 20, gsoSize: mss, csumStart: l4, csumOffset: 16 };
    assert.equal(offloadProblem(frame, o, 1500), undefined);
    const segs = resolveOffload(frame, o);
    assert.equal(segs.length, Math.ceil(payload / mss));
    const joined = Buffer.concat(segs.map((seg) => seg.subarray(l4 + 20)));
    assert.ok(Buffer.from(frame.subarray(l4 + 20)).equals(joined), 'the payload, in order');
    for (const seg of segs) {
      assert.ok(seg.length <= 1514 && offloadProblem(seg, null, 1500) === undefined);
      assert.ok(tcpChecksumOk(seg, l3, l4, v6));
    }
  }), { numRuns: 200 });
});

test('a checksum left to complete is completed, on a copy', () => {
  const { frame, l3, l4 } = tcpFrame(false, 333);
  // As the Linux stack leaves it: the pseudo-header sum, not complemented, in the checksum field.
  const pseudo = sum(frame, l3 + 12, l3 + 20, 6 + frame.length - l4);
  frame[l4 + 16] = pseudo >> 8; frame[l4 + 17] = pseudo & 0xff;
  const [done] = resolveOffload(frame, { flags: NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: l4, csumOffset: 16 });
  assert.notEqual(done, frame);
  assert.ok(tcpChecksumOk(done!, l3, l4, false));
});

test('the virtio-net header reads back as written; an empty one is null', () => {
  const buf = new Uint8Array(10);
  const o: Offload = { flags: NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 };
  writeVnetHeader(buf, 0, o);
  assert.deepEqual(readVnetHeader(buf, 0), o);
  writeVnetHeader(buf, 0, null);
  assert.equal(readVnetHeader(buf, 0), null);
});

test('headers that lie about their frame are refused with a reason', () => {
  const { frame, l4 } = tcpFrame(false, 4000);
  const good: Offload = { flags: NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: l4 + 20, gsoSize: 1448, csumStart: l4, csumOffset: 16 };
  const bad: [Partial<Offload> | string, RegExp, Uint8Array?][] = [
    ['not a header', /six 16-bit fields/],
    [{ gsoSize: 70_000 }, /six 16-bit fields/],
    [{ flags: 0x80 }, /flags/],
    [{ gsoType: 3 }, /GSO type 3/],
    [{ gsoSize: 1461 }, /above MTU 1500/],
    [{ gsoSize: 0 }, /above MTU/],
    [{ csumStart: frame.length - 10 }, /checksum position outside/],
    [{ csumOffset: 6 }, /without its TCP checksum/],
    [{ flags: 0 }, /without its TCP checksum/],
    [{ hdrLen: frame.length + 1 }, /header length beyond/],
    [{ csumStart: 14 }, /without an IPv4 header/],
    [{ gsoType: GSO_TCPV6 }, /without a plain IPv6 header/],
    [{}, /GSO limit/, new Uint8Array(MAX_GSO_FRAME + 1)],
    [{ gsoType: 0 }, /no GSO \(MTU 1500\)/],
  ];
  assert.equal(offloadProblem(frame, good, 1500), undefined);
  for (const [change, reason, other] of bad) {
    const o = typeof change === 'string' ? change : { ...good, ...change };
    const target = other ? Object.assign(other, { [12]: 8 }) : frame;
    assert.match(offloadProblem(target, o, 1500) ?? 'accepted', reason, JSON.stringify(change));
  }
  assert.match(checkFrames([frame], 1500, (m) => m, [good, null]) ?? '', /one header \(or null\) per frame/);
  assert.match(checkFrames([frame], 1500, (m) => m) ?? '', /MTU 1500/, 'a GSO frame without its header is too long');
  assert.equal(checkFrames([frame], 1500, (m) => m, [good]), undefined);
});
