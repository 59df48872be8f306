/**
 * Offloads as the network class carries them: the virtio-net header a TAP opened with
 * IFF_VNET_HDR puts before each frame (include/uapi/linux/virtio_net.h), as plain data beside
 * the frame. A frame with `NEEDS_CSUM` still has its transport checksum to complete (the field
 * holds the pseudo-header sum); a GSO frame is a TCP segment of up to 64 KiB that the last
 * hop cuts into `gsoSize` pieces. Checked at the boundary like every argument, so a driver
 * that sends a lying header fails alone; and resolved in software (checksum completed,
 * segments cut) for any port whose driver did not register offloads, as Linux does for a
 * device without the feature.
 */
/** frames.ts's ETH_HEADER, repeated here: frames.ts imports this module, and cycles are not allowed. */
const ETH_HEADER = 14;

export const VNET_HDR_LEN = 10;
export const NEEDS_CSUM = 1;
export const DATA_VALID = 2;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_TCPV6 = 4;
/** The largest GSO frame: a 64 KiB IP packet behind an Ethernet (and one VLAN) header. */
export const MAX_GSO_FRAME = 65536 + ETH_HEADER + 4;
/** At most this many segments per GSO frame (a 64 KiB packet in 88-byte pieces, IPv6 minimum MTU). */
const MAX_SEGMENTS = 1024;

/** The fields of a virtio_net_hdr (host byte order). */
export interface Offload {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** Parses the header at `at` of `buf`; null when it asks for nothing (no checksum, no GSO). */
export function readVnetHeader(buf: Uint8Array, at: number): Offload | null {
  const flags = buf[at]!;
  const gsoType = buf[at + 1]!;
  if ((flags & NEEDS_CSUM) === 0 && gsoType === GSO_NONE) return null;
  const u16 = (o: number) => buf[at + o]! | (buf[at + o + 1]! << 8);
  return { flags, gsoType, hdrLen: u16(2), gsoSize: u16(4), csumStart: u16(6), csumOffset: u16(8) };
}

/** Writes the header for `o` (all zero for none) at `at` of `buf`. */
export function writeVnetHeader(buf: Uint8Array, at: number, o: Offload | null | undefined): void {
  if (!o) { buf.fill(0, at, at + VNET_HDR_LEN); return; }
  const u16 = (off: number, v: number) => { buf[at + off] = v & 0xff; buf[at + off + 1] = v >>> 8; };
  buf[at] = o.flags;
  buf[at + 1] = o.gsoType;
  u16(2, o.hdrLen); u16(4, o.gsoSize); u16(6, o.csumStart); u16(8, o.csumOffset);
}

const u16ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;
const tcpHeaderLen = (f: Uint8Array, l4: number) => (f[l4 + 12]! >> 4) * 4;

/**
 * What is wrong with `o` for `frame` under `mtu`, or undefined. A GSO frame must be TCP with
 * its checksum to complete, and each segment it is cut into must fit the MTU.
 */
export function offloadProblem(frame: Uint8Array, o: unknown, mtu: number): string | undefined {
  if (o === null || o === undefined) return frame.length <= ETH_HEADER + mtu ? undefined : `has ${frame.length} bytes and no GSO header (MTU ${mtu})`;
  const h = o as Offload;
  if (typeof o !== 'object' || ![h.flags, h.gsoType, h.hdrLen, h.gsoSize, h.csumStart, h.csumOffset].every(u16ok)) return 'has an offload that is not six 16-bit fields';
  if ((h.flags & ~(NEEDS_CSUM | DATA_VALID)) !== 0) return `has offload flags ${h.flags}`;
  if (h.flags & NEEDS_CSUM && (h.csumStart < ETH_HEADER || h.csumStart + h.csumOffset + 2 > frame.length)) return 'has a checksum position outside the frame';
  if (h.hdrLen > frame.length) return 'has a header length beyond the frame';
  if (h.gsoType === GSO_NONE) return frame.length <= ETH_HEADER + mtu ? undefined : `has ${frame.length} bytes and no GSO (MTU ${mtu})`;
  if (h.gsoType !== GSO_TCPV4 && h.gsoType !== GSO_TCPV6) return `has GSO type ${h.gsoType} (TCPv4 and TCPv6 only)`;
  if (!(h.flags & NEEDS_CSUM) || h.csumOffset !== 16) return 'is a GSO frame without its TCP checksum to complete';
  if (frame.length > MAX_GSO_FRAME) return `has ${frame.length} bytes, above the GSO limit ${MAX_GSO_FRAME}`;
  if (h.csumStart + 20 > frame.length) return 'has its TCP header outside the frame';
  const headers = h.csumStart + tcpHeaderLen(frame, h.csumStart);
  if (headers < h.csumStart + 20 || headers > frame.length) return 'has a TCP header length outside the frame';
  if (h.gsoSize === 0 || headers + h.gsoSize > ETH_HEADER + mtu) return `has GSO segments of ${h.gsoSize} bytes, above MTU ${mtu}`;
  if ((frame.length - headers) / h.gsoSize > MAX_SEGMENTS) return 'would be cut into too many segments';
  return ipHeaderProblem(frame, h);
}

function ipHeaderProblem(frame: Uint8Array, h: Offload): string | undefined {
  const l3 = networkStart(frame);
  if (h.gsoType === GSO_TCPV4) {
    if (l3 < 0 || (frame[l3]! >> 4) !== 4 || l3 + (frame[l3]! & 15) * 4 !== h.csumStart || frame[l3 + 9] !== 6) return 'is a TCPv4 GSO frame without an IPv4 header before its TCP header';
  } else if (l3 < 0 || (frame[l3]! >> 4) !== 6 || l3 + 40 !== h.csumStart || frame[l3 + 6] !== 6) {
    return 'is a TCPv6 GSO frame without a plain IPv6 header before its TCP header';
  }
  return undefined;
}

/** Where the IP header starts (after one optional VLAN tag), or -1. */
function networkStart(frame: Uint8Array): number {
  const type = (frame[12]! << 8) | frame[13]!;
  if (type === 0x8100) return frame.length >= 18 ? 18 : -1;
  return type === 0x0800 || type === 0x86dd ? ETH_HEADER : -1;
}

/** The ones'-complement sum of `f[from, to)` added to `sum`, not folded. */
function sum16(f: Uint8Array, from: number, to: number, sum = 0): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (f[i]! << 8) | f[i + 1]!;
  if (i < to) sum += f[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Completes a NEEDS_CSUM checksum in place, as skb_checksum_help does. */
function completeChecksum(f: Uint8Array, start: number, offset: number): void {
  const value = (~fold(sum16(f, start, f.length)) & 0xffff) || 0xffff;
  f[start + offset] = value >> 8;
  f[start + offset + 1] = value & 0xff;
}

/**
 * The plain frames a port without offloads must carry for `frame`: the frame itself with its
 * checksum completed, or the segments of a GSO frame, each with its IP and TCP headers and
 * checksums fixed (the job of the kernel's tcp_gso_segment). The input is never modified.
 */
export function resolveOffload(frame: Uint8Array, o: Offload | null | undefined): Uint8Array[] {
  if (!o) return [frame];
  if (o.gsoType === GSO_NONE) {
    if (!(o.flags & NEEDS_CSUM)) return [frame];
    const copy = frame.slice();
    completeChecksum(copy, o.csumStart, o.csumOffset);
    return [copy];
  }
  const l3 = networkStart(frame);
  const l4 = o.csumStart;
  const headers = l4 + tcpHeaderLen(frame, l4);
  const v4 = o.gsoType === GSO_TCPV4;
  const seq0 = ((frame[l4 + 4]! << 24) | (frame[l4 + 5]! << 16) | (frame[l4 + 6]! << 8) | frame[l4 + 7]!) >>> 0;
  const id0 = (frame[l3 + 4]! << 8) | frame[l3 + 5]!;
  const out: Uint8Array[] = [];
  for (let at = headers, i = 0; at < frame.length; at += o.gsoSize, i++) {
    const end = Math.min(frame.length, at + o.gsoSize);
    const seg = new Uint8Array(headers + end - at);
    seg.set(frame.subarray(0, headers));
    seg.set(frame.subarray(at, end), headers);
    const ipLen = seg.length - l3;
    if (v4) {
      put16(seg, l3 + 2, ipLen);
      put16(seg, l3 + 4, (id0 + i) & 0xffff);
      put16(seg, l3 + 10, 0);
      put16(seg, l3 + 10, ~fold(sum16(seg, l3, l4)) & 0xffff);
    } else put16(seg, l3 + 4, ipLen - 40);
    const seq = (seq0 + (at - headers)) >>> 0;
    seg[l4 + 4] = seq >>> 24; seg[l4 + 5] = (seq >>> 16) & 0xff; seg[l4 + 6] = (seq >>> 8) & 0xff; seg[l4 + 7] = seq & 0xff;
    if (end < frame.length) seg[l4 + 13]! &= ~0x09; // FIN and PSH only on the last segment
    if (i > 0) seg[l4 + 13]! &= ~0x80; // CWR only on the first
    put16(seg, l4 + 16, 0);
    const tcpLen = seg.length - l4;
    const pseudo = v4 ? sum16(seg, l3 + 12, l3 + 20) : sum16(seg, l3 + 8, l3 + 40);
    put16(seg, l4 + 16, ~fold(sum16(seg, l4, seg.length, pseudo + 6 + tcpLen)) & 0xffff);
    out.push(seg);
  }
  return out;
}

function put16(f: Uint8Array, at: number, v: number): void {
  f[at] = (v >>> 8) & 0xff;
  f[at + 1] = v & 0xff;
}

/** Every frame of a batch resolved for a port without offloads. */
export function resolveOffloads(frames: Uint8Array[], offloads: readonly (Offload | null)[] | undefined): Uint8Array[] {
  if (!offloads) return frames;
  const out: Uint8Array[] = [];
  for (let i = 0; i < frames.length; i++) {
    const o = offloads[i];
    if (o) out.push(...resolveOffload(frames[i]!, o)); else out.push(frames[i]!);
  }
  return out;
}
