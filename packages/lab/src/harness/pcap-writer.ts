/**
 * A network analyzer's capture in the kernel: whatever arrives at its end of a cable is
 * written to a file in the classic libpcap format (microsecond timestamps, LINKTYPE_ETHERNET),
 * which tcpdump, tshark and Wireshark read. Plugged into a virtual NIC that serves as the
 * switch's monitor port, it records every frame the monitor port's driver put on the wire.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { WireEnd } from 'shadow-drivers';

/** The classic format's magic number, written in the host's byte order (readers detect it). */
const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** Bytes buffered before they are written out. */
const FLUSH_BYTES = 1 << 16;

/** Writes frames to a pcap file; buffered, flushed at the end of each turn of the event loop. */
export class PcapWriter {
  readonly path: string;
  readonly snaplen: number;
  #fd: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #scheduled = false;
  #frames = 0;
  #bytes = 0;

  constructor(path: string, options: { snaplen?: number } = {}) {
    this.path = path;
    this.snaplen = options.snaplen ?? 262_144;
    this.#fd = openSync(path, 'w', 0o644);
    const header = Buffer.alloc(GLOBAL_HEADER);
    header.writeUInt32LE(PCAP_MAGIC, 0);
    header.writeUInt16LE(2, 4); // version 2.4
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone: timestamps are UTC
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(this.snaplen, 16);
    header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    writeSync(this.#fd, header);
  }

  /** Frames written (or buffered for writing) so far. */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes of frame data captured (after snaplen truncation). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends one frame, stamped with `timeMs` (ms since the epoch, fractional allowed). */
  write(frame: Uint8Array, timeMs: number = performance.timeOrigin + performance.now()): void {
    if (this.#fd < 0) throw new Error(`the capture ${this.path} is closed`);
    const captured = Math.min(frame.length, this.snaplen);
    const record = Buffer.allocUnsafe(RECORD_HEADER + captured);
    const us = Math.round(timeMs * 1000);
    record.writeUInt32LE(Math.floor(us / 1_000_000), 0);
    record.writeUInt32LE(us % 1_000_000, 4);
    record.writeUInt32LE(captured, 8);
    record.writeUInt32LE(frame.length, 12);
    record.set(frame.subarray(0, captured), RECORD_HEADER);
    this.#chunks.push(record);
    this.#buffered += record.length;
    this.#frames++;
    this.#bytes += captured;
    if (this.#buffered >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => { this.#scheduled = false; if (this.#fd >= 0) this.flush(); });
    }
  }

  /** Writes out everything buffered. */
  flush(): void {
    if (this.#buffered === 0) return;
    const data = Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [];
    this.#buffered = 0;
    for (let off = 0; off < data.length;) off += writeSync(this.#fd, data, off);
  }

  close(): void {
    if (this.#fd < 0) return;
    this.flush();
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** The capture end of a cable: every frame that arrives is written to the pcap file. */
export class PcapCapture implements WireEnd {
  readonly writer: PcapWriter;

  constructor(path: string, options: { snaplen?: number } = {}) {
    this.writer = new PcapWriter(path, options);
  }

  readonly #listeners = new Set<(frame: Uint8Array) => void>();

  receive(frame: Uint8Array): void {
    this.writer.write(frame);
    for (const listener of this.#listeners) listener(frame);
  }

  /** Calls `listener` with each frame after it was written. */
  onFrame(listener: (frame: Uint8Array) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Frames captured so far. */
  get frames(): number {
    return this.writer.frames;
  }

  close(): void {
    this.writer.close();
  }
}

/** One record of a pcap file, as read back. */
export interface PcapRecord { timeUs: number; frame: Uint8Array; originalLength: number }

/** Reads a classic pcap file written in either byte order (microsecond timestamps). */
export function readPcap(data: Uint8Array): { linktype: number; records: PcapRecord[] } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < GLOBAL_HEADER) throw new Error('not a pcap file: too short');
  const little = view.getUint32(0, true) === PCAP_MAGIC;
  if (!little && view.getUint32(0, false) !== PCAP_MAGIC) throw new Error('not a classic pcap file (bad magic)');
  const linktype = view.getUint32(20, little);
  const records: PcapRecord[] = [];
  let off = GLOBAL_HEADER;
  while (off < data.length) {
    if (off + RECORD_HEADER > data.length) throw new Error(`truncated record header at byte ${off}`);
    const sec = view.getUint32(off, little);
    const usec = view.getUint32(off + 4, little);
    const incl = view.getUint32(off + 8, little);
    const orig = view.getUint32(off + 12, little);
    if (off + RECORD_HEADER + incl > data.length) throw new Error(`truncated record at byte ${off}`);
    records.push({ timeUs: sec * 1_000_000 + usec, frame: data.subarray(off + RECORD_HEADER, off + RECORD_HEADER + incl), originalLength: orig });
    off += RECORD_HEADER + incl;
  }
  return { linktype, records };
}
