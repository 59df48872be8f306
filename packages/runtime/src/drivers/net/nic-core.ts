/**
 * What every NIC driver here does the same way, whatever its hardware: the receive filter a
 * driver programs (its MAC, the multicast groups it joined, promiscuous mode, the MTU), the
 * administrative state, the counters, and batching of received frames into one upcall per
 * turn of the event loop. A driver adds a `Port`: how frames reach and leave its hardware.
 */
import type { KernelServices, LinkState, NetDriver } from '../../classes/net/contract.js';
import { NetCounters } from '../../classes/net/stats.js';
import { destinationOf, ETH_HEADER, isGroupFrame, MAX_BATCH } from '../../classes/net/frames.js';
import type { Offload } from '../../classes/net/offload.js';

/** The hardware side of a driver. */
export interface Port {
  /**
   * Opens the hardware; returns its permanent address and limits, whether it takes offloads,
   * and whether every frame it hands over is a copy of its own that nothing else holds
   * (`ownFrames`): those move to the kernel with the upcall instead of being copied.
   */
  open(events: PortEvents): Promise<{ permanentMac: string; maxMtu: number; carrier: boolean; offloads?: boolean; ownFrames?: boolean }>;
  /**
   * Puts frames on the wire (with their offloads, for a port that takes them); returns how many
   * it took (once they are on it: a promise where that takes a while).
   */
  send(frames: Uint8Array[], offloads?: (Offload | null)[]): number | Promise<number>;
  /** Lets go of the hardware (the driver is being dropped while its thread lives on). */
  close(): void;
}

export interface PortEvents {
  /** A frame arrived, with its virtio-net header when the port takes offloads. */
  frame(frame: Uint8Array, offload?: Offload | null): void;
  carrier(up: boolean): void;
}

/**
 * Bytes per receive upcall, about: GSO frames are up to 64 KiB, and a batch of 256 of them
 * would be one 16 MiB message that the kernel can only start switching once all of it crossed.
 */
const UPCALL_BYTES = 256 * 1024;

function batchLength(frames: Uint8Array[]): number {
  let bytes = 0;
  let n = 0;
  while (n < frames.length && n < MAX_BATCH && (n === 0 || bytes < UPCALL_BYTES)) bytes += frames[n++]!.length;
  return n;
}

/** A NIC driver over a port. */
export function nicDriver(kernel: KernelServices, portFor: (config: Record<string, unknown>) => Port): NetDriver & { shutdown(): void } {
  let port: Port | undefined;
  let up = false;
  let carrier = false;
  let mac = '';
  let mtu = 1500;
  let promiscuous = false;
  let groups = new Set<string>();
  const counters = new NetCounters();
  let pending: Uint8Array[] = [];
  // One header (or null) per pending frame; `withOffloads` when any is not null.
  let pendingOffloads: (Offload | null)[] = [];
  let withOffloads = false;
  let scheduled = false;
  let ownFrames = false;
  /**
   * Frames the hardware had queued for this driver before anyone said up or down: a driver
   * restarted by a recovery or a live update reads them at init, and `up` comes with the
   * shadow's replay a moment later. Dropped, they were lost to every restart (a TAP's whole
   * queue of the pause); held (bounded, as a receive ring), they go up with `up`.
   */
  let early: [Uint8Array, Offload | null][] | undefined = [];
  const EARLY_FRAMES = 1024;

  const flush = (): void => {
    scheduled = false;
    while (pending.length) {
      const n = batchLength(pending);
      const frames = pending.splice(0, n);
      const offloads = pendingOffloads.splice(0, n);
      const args = withOffloads ? { frames, offloads } : { frames };
      void kernel.upcall('receive', args, ownFrames ? { transfer: frames.map((frame) => frame.buffer as ArrayBuffer) } : undefined);
    }
    withOffloads = false;
  };

  const accepts = (frame: Uint8Array, gso: boolean): boolean => {
    if (!gso && frame.length > ETH_HEADER + mtu) return false;
    if (promiscuous) return true;
    const dst = destinationOf(frame);
    if (dst === mac) return true;
    if (!isGroupFrame(frame)) return false;
    return dst === 'ff:ff:ff:ff:ff:ff' || groups.has(dst);
  };

  const events: PortEvents = {
    frame(frame, offload = null) {
      if (!up) { if (early && early.length < EARLY_FRAMES) early.push([frame, offload]); return; }
      if (!accepts(frame, offload !== null && offload.gsoType !== 0)) { counters.filtered(); return; }
      counters.received(frame);
      pending.push(frame);
      pendingOffloads.push(offload);
      if (offload) withOffloads = true;
      if (!scheduled) { scheduled = true; setImmediate(flush); }
    },
    carrier(next) {
      if (next === carrier) return;
      carrier = next;
      void kernel.upcall('link', { carrier });
    },
  };

  return {
    async init({ config }) {
      port = portFor(config);
      const hw = await port.open(events);
      mac = hw.permanentMac;
      carrier = hw.carrier;
      ownFrames = hw.ownFrames === true;
      await kernel.register({ permanentMac: hw.permanentMac, maxMtu: hw.maxMtu, ...(hw.offloads ? { offloads: true } : {}) });
    },
    up() {
      up = true;
      const held = early ?? [];
      early = undefined;
      for (const [frame, offload] of held) events.frame(frame, offload);
    },
    down() { up = false; early = undefined; pending = []; pendingOffloads = []; },
    setMac(args) { mac = args.mac; },
    setMtu(args) { mtu = args.mtu; },
    setMulticast(args) { groups = new Set(args.groups); },
    setPromiscuous(args) { promiscuous = args.on; },
    async transmit({ frames, offloads }) {
      const accepted = up && carrier ? await port!.send(frames, offloads) : 0;
      counters.transmitted(frames, accepted);
      return { accepted };
    },
    stats: () => counters.stats(),
    linkState: (): LinkState => ({ carrier, up, mac, mtu, promiscuous, multicast: [...groups].sort() }),
    shutdown() { up = false; port?.close(); },
  };
}
