/**
 * The whole wire vocabulary between the kernel and an isolation domain. Every message that
 * crosses the boundary is one of these; messages travel in batches (one postMessage or frame
 * per batch), which is the paper's "deferred calls" batching.
 */
import type { WireError } from '../errors.js';

/** A host resource the kernel opened and lends to the driver (a disk image, a block device). */
export interface ResourceGrant {
  name: string;
  /** The file descriptor as seen inside the domain. */
  fd: number;
  path: string;
  sizeBytes: number;
  readOnly: boolean;
  isBlockDevice: boolean;
  /** Device memory, where the domain shares memory with the kernel (fd is then -1). */
  memory?: SharedArrayBuffer;
  /**
   * Device memory held in a file (a process domain's medium: a sealed memfd the kernel maps),
   * which the kernel copies to and from itself for a read the driver answers `{ from: name, at }`
   * and a write it answers `{ to: name, at }` (EntryPoint.readsFrom, writesTo): the bytes then go
   * straight between the medium and the caller's buffer, not through the driver's process and
   * the region.
   */
  kernelCopies?: boolean;
  /** A network interface the kernel opened: its hardware address and MTU at that time. */
  link?: { address: string; mtu: number };
}

export interface LoadSpec {
  /** URL of the driver module (its default export is the driver factory). */
  driver: string;
  /** Entry points whose output buffer the domain must provide when the kernel did not. */
  bulkOut: Record<string, { arg: string; lengthArg: string }>;
  /**
   * Barrier entry points (a block device's `flush`): the domain starts one only once every call
   * sent before it has been answered, so it covers the writes issued before it, not only those
   * completed (the block layer's PREFLUSH), and a caller may send both at once.
   */
  barriers?: string[];
  /** Resources as the domain sees them (fd numbers may differ from the kernel's). */
  resources: ResourceGrant[];
  /**
   * Domain extensions the runtime was configured with (URLs), loaded before the driver: each
   * serves `extension` messages of its name. Fault injection is one, installed only on request.
   */
  extensions?: string[];
  /**
   * The process domain's data plane (bulk-region.ts): its descriptor inside the domain, and
   * the part of it that is the driver's own (`outbound`: where its upcalls' bytes go).
   */
  region?: { fd: number; sizeBytes: number; outbound?: SlotRef };
  /** How long the domain keeps its event loop turning for the next request after it replied (busy-poll.ts); absent or 0: not at all. */
  busyPollUs?: number;
}

/** A bulk argument placed in the domain's region instead of the message: [offset, length]. */
export type SlotRef = [offset: number, length: number];

/** Kernel -> domain. */
export type ToDomain =
  | { t: 'load'; spec: LoadSpec }
  /** Call an entry point (or a callback the driver registered, such as a timer: entry "$timer"). */
  /**
   * `slots`: arguments whose bytes are in the region (bulk-region.ts), not in `args`; the
   * entry's output buffer among them is where the domain puts the result (see `inSlot`).
   */
  | { t: 'call'; id: number; entry: string; args: unknown; slots?: Record<string, SlotRef> }
  /** Answer to a kernel-service call the driver made. */
  | { t: 'service-reply'; id: number; ok: true; value: unknown }
  /** `device: true`: the device failed the service (a sync hit EIO): the driver gets a DeviceError. */
  | { t: 'service-reply'; id: number; ok: false; error: WireError; device?: boolean }
  | { t: 'ping'; seq: number }
  /**
   * A shared spare (spare-domains.ts): import these modules (a driver and its extensions) before
   * any device needs them, so a later `load` of them finds them evaluated; answered with a
   * `pong` of this `seq` once they are in (failed or not: `load` reports what failed).
   */
  | { t: 'preload'; urls: string[]; seq: number }
  /**
   * The kernel has failed this driver and asks its domain to end by itself, now, after what it
   * has already sent: at a point between two tasks, not wherever a SIGKILL would land (see
   * Domain.kill). A domain that does not comply is killed when the grace runs out.
   */
  | { t: 'retire' }
  /**
   * Whether the domain may busy-poll (busy-poll.ts) from now on: only while few devices are busy
   * at once, or every driver thread would spin on the same few cores. Sent when it changes.
   */
  | { t: 'poll'; on: boolean }
  /** A message for a domain extension (see LoadSpec.extensions); unknown names are ignored. */
  | { t: 'extension'; name: string; body: unknown };

/**
 * How a domain reports its driver's end: an exception or a rejection escaped it, it misused
 * what the kernel owns inside the domain (a worker driver touching a descriptor not its own), or
 * it holds more buffers outside its heap than its limit (off-heap.ts).
 */
export type FaultKind = 'exception' | 'rejection' | 'bad-kernel-call' | 'memory';

/** Domain -> kernel. */
export type FromDomain =
  /** `hooks`: which of live update's optional entry points (exportState, importState) the driver has. */
  | { t: 'loaded'; hooks?: string[] }
  | { t: 'load-failed'; error: WireError }
  /** `inSlot`: the value is that many bytes in the output slot the call was lent (not `value`). */
  | { t: 'reply'; id: number; ok: true; value: unknown; inSlot?: number }
  /** `device: true` marks an error the device reported (EIO), not a driver failure. */
  | { t: 'reply'; id: number; ok: false; error: WireError; device: boolean }
  /**
   * `slots`: bytes of the arguments in the driver's own part of the region, by path (`args.frames`:
   * an upcall's frames), the message holding their lengths in their place.
   */
  | { t: 'service'; id: number; name: string; args: unknown; slots?: Record<string, SlotRef> }
  | { t: 'pong'; seq: number }
  | { t: 'fault'; kind: FaultKind; error: WireError };

/** A run of calls, packed (packed.ts). */
export interface PackedCalls {
  t: 'calls';
  entries: string[];
  /** Argument names per shape; a name's value is a number in `nums`, or (`*name`) an index into `refs`. */
  shapes: string[][];
  /** Per call: id, entry index, shape index, then one number per argument name. */
  nums: number[];
  refs: unknown[];
}

/** A run of replies, packed (packed.ts): [id, kind, value] per reply. */
export interface PackedReplies {
  t: 'replies';
  r: Float64Array;
}

/**
 * What crosses, each way: the messages above, with runs of simple calls and replies packed
 * (packed.ts). The kernel's decoder turns a domain's batch back into `FromDomain` messages.
 */
export type ToDomainWire = ToDomain | PackedCalls;
export type FromDomainWire = FromDomain | PackedReplies;

export type Batch<M> = M[];

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, name: err.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(err) };
}

/**
 * A domain group's wire (domain-group.ts, group-entry.ts): devices' batches per message at
 * most, both ways. Enough to spare most of the per-message cost at many devices, few enough
 * that the other side starts on the first ones while this side still makes the rest (one
 * message per turn left one side idle while the other worked: 16 devices read at half the rate).
 */
export const GROUP_BATCH_LIMIT = 8;
