/**
 * Ethernet frames and MAC addresses as the network class sees them: whole frames from the
 * destination address on, no preamble or FCS. Shared by the class contract, drivers and the
 * kernel's network applications.
 */
import { offloadProblem } from './offload.js';

export const ETH_HEADER = 14;
export const MIN_MTU = 68;
export const MAX_MTU = 9000;
/** The most frames one transmit call or one receive upcall carries. */
export const MAX_BATCH = 256;
export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function isMac(v: unknown): v is string {
  return typeof v === 'string' && MAC.test(v);
}

/** The group bit (lowest bit of the first octet): multicast and broadcast addresses. */
export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

export function macToBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':'), (h) => parseInt(h, 16));
}

export function macAt(frame: Uint8Array, offset: number): string {
  let out = '';
  for (let i = 0; i < 6; i++) out += (i ? ':' : '') + frame[offset + i]!.toString(16).padStart(2, '0');
  return out;
}

export const destinationOf = (frame: Uint8Array): string => macAt(frame, 0);
export const sourceOf = (frame: Uint8Array): string => macAt(frame, 6);

/** A frame's destination has the group bit set (multicast or broadcast). */
export const isGroupFrame = (frame: Uint8Array): boolean => (frame[0]! & 1) === 1;

/**
 * Checks a batch of frames against an MTU; returns the problem, built by `error`. `offloads`,
 * when given, is one virtio-net header (or null) per frame, and a GSO frame may then exceed
 * the MTU as long as each of its segments fits (see offload.ts).
 */
export function checkFrames<E>(frames: unknown[], mtu: number, error: (message: string) => E, offloads?: unknown): E | undefined {
  if (frames.length === 0 || frames.length > MAX_BATCH) return error(`a batch carries 1 to ${MAX_BATCH} frames, not ${frames.length}`);
  if (offloads !== undefined && (!Array.isArray(offloads) || offloads.length !== frames.length)) {
    return error('offloads, when given, hold one header (or null) per frame');
  }
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (!(f instanceof Uint8Array)) return error(`frame ${i} is not a Uint8Array`);
    if (f.length < ETH_HEADER) return error(`frame ${i} has ${f.length} bytes; frames carry at least ${ETH_HEADER}`);
    const o = offloads ? (offloads as unknown[])[i] : undefined;
    if (o === undefined || o === null) {
      if (f.length > ETH_HEADER + mtu) return error(`frame ${i} has ${f.length} bytes; frames carry ${ETH_HEADER} to ${ETH_HEADER + mtu} (MTU ${mtu})`);
      continue;
    }
    const problem = offloadProblem(f, o, mtu);
    if (problem) return error(`frame ${i} ${problem}`);
  }
  return undefined;
}

export function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v === null) return 'null';
  if (typeof v === 'object') return `an object with ${Object.keys(v).join(', ') || 'no keys'}`;
  return typeof v;
}
