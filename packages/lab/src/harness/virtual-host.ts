/**
 * A host on the far end of a virtual NIC's cable: it sends frames of a test protocol carrying
 * a stream id and sequence number, and keeps what it received, per sender, so loss,
 * duplication and reordering can be counted exactly. Used by the demo and the tests.
 */
import { destinationOf, macToBytes, sourceOf } from 'shadow-drivers';
import type { VirtualNic, WireEnd } from 'shadow-drivers';

/** An EtherType from the IEEE "local experimental" range. */
export const TEST_ETHERTYPE = 0x88b5;

export interface StreamReport {
  received: number;
  /** Sequence numbers never seen below the highest one seen. */
  lost: number[];
  duplicates: number;
  /** Frames that arrived after a higher sequence number of the same stream. */
  reordered: number;
  highest: number;
}

export class VirtualHost implements WireEnd {
  readonly mac: string;
  readonly #nic: VirtualNic;
  readonly #streams = new Map<string, { seen: Set<number>; highest: number; duplicates: number; reordered: number; arrivals: { seq: number; at: number }[] }>();
  #nextSeq = 0;
  #listeners = new Set<(frame: Uint8Array) => void>();

  constructor(mac: string, nic: VirtualNic) {
    this.mac = mac;
    this.#nic = nic;
    nic.plug(this);
  }

  /** Sends one test frame to `to`, of `size` bytes in all; returns its sequence number. */
  send(to: string, size = 64): number {
    const frame = new Uint8Array(Math.max(size, 22));
    frame.set(macToBytes(to), 0);
    frame.set(macToBytes(this.mac), 6);
    frame[12] = TEST_ETHERTYPE >> 8;
    frame[13] = TEST_ETHERTYPE & 0xff;
    const seq = this.#nextSeq++;
    new DataView(frame.buffer).setUint32(14, seq);
    new DataView(frame.buffer).setUint32(18, size);
    this.#nic.receive(frame);
    return seq;
  }

  get sent(): number {
    return this.#nextSeq;
  }

  receive(frame: Uint8Array): void {
    for (const listener of this.#listeners) listener(frame);
    if (destinationOf(frame) !== this.mac && (frame[0]! & 1) === 0) return;
    if (frame.length < 22 || ((frame[12]! << 8) | frame[13]!) !== TEST_ETHERTYPE) return;
    const from = sourceOf(frame);
    let s = this.#streams.get(from);
    if (!s) this.#streams.set(from, (s = { seen: new Set(), highest: -1, duplicates: 0, reordered: 0, arrivals: [] }));
    const seq = new DataView(frame.buffer, frame.byteOffset).getUint32(14);
    if (s.seen.has(seq)) { s.duplicates++; return; }
    if (seq < s.highest) s.reordered++;
    s.seen.add(seq);
    s.highest = Math.max(s.highest, seq);
    s.arrivals.push({ seq, at: Date.now() });
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What arrived from `from` so far. */
  report(from: string): StreamReport {
    const s = this.#streams.get(from);
    if (!s) return { received: 0, lost: [], duplicates: 0, reordered: 0, highest: -1 };
    const lost: number[] = [];
    for (let i = 0; i <= s.highest; i++) if (!s.seen.has(i)) lost.push(i);
    return { received: s.seen.size, lost, duplicates: s.duplicates, reordered: s.reordered, highest: s.highest };
  }

  /** Whether sequence number `seq` from `from` has arrived. */
  has(from: string, seq: number): boolean {
    return this.#streams.get(from)?.seen.has(seq) ?? false;
  }
}
