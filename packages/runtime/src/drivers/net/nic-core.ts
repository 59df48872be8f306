/**
 * What every NIC driver here does the same way, whatever its hardware: the receive filter a
 * driver programs (its MAC, the multicast groups it joined, promiscuous mode, the MTU), the
 * administrative state, the counters, and batching of received frames into one upcall per
 * turn of the event loop. A driver adds a `Port`: how frames reach and leave its hardware.
 */
import type { KernelServices, LinkState, NetDriver } from '../../classes/net/contract.js';
import { zeroNetStats, type NetStats } from '../../classes/net/stats.js';
import { destinationOf, ETH_HEADER, isGroupFrame, MAX_BATCH } from '../../classes/net/frames.js';

/** The hardware side of a driver. */
export interface Port {
  /** Opens the hardware; returns its permanent address and limits. */
  open(events: PortEvents): Promise<{ permanentMac: string; maxMtu: number; carrier: boolean }>;
  /** Puts frames on the wire; returns how many it took (once they are on it: a promise where that takes a while). */
  send(frames: Uint8Array[]): number | Promise<number>;
  /** Lets go of the hardware (the driver is being dropped while its thread lives on). */
  close(): void;
}

export interface PortEvents {
  frame(frame: Uint8Array): void;
  carrier(up: boolean): void;
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
  const stats: NetStats = zeroNetStats();
  let pending: Uint8Array[] = [];
  let scheduled = false;
  /**
   * Frames the hardware had queued for this driver before anyone said up or down: a driver
   * restarted by a recovery or a live update reads them at init, and `up` comes with the
   * shadow's replay a moment later. Dropped, they were lost to every restart (a TAP's whole
   * queue of the pause); held (bounded, as a receive ring), they go up with `up`.
   */
  let early: Uint8Array[] | undefined = [];
  const EARLY_FRAMES = 1024;

  const flush = (): void => {
    scheduled = false;
    while (pending.length) {
      const frames = pending.splice(0, MAX_BATCH);
      void kernel.upcall('receive', { frames });
    }
  };

  const accepts = (frame: Uint8Array): boolean => {
    if (frame.length > ETH_HEADER + mtu) return false;
    if (promiscuous) return true;
    const dst = destinationOf(frame);
    if (dst === mac) return true;
    if (!isGroupFrame(frame)) return false;
    return dst === 'ff:ff:ff:ff:ff:ff' || groups.has(dst);
  };

  const events: PortEvents = {
    frame(frame) {
      if (!up) { if (early && early.length < EARLY_FRAMES) early.push(frame); return; }
      if (!accepts(frame)) { stats.rxFiltered++; return; }
      stats.rxFrames++;
      stats.rxBytes += frame.length;
      pending.push(frame);
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
      await kernel.register({ permanentMac: hw.permanentMac, maxMtu: hw.maxMtu });
    },
    up() {
      up = true;
      const held = early ?? [];
      early = undefined;
      for (const frame of held) events.frame(frame);
    },
    down() { up = false; early = undefined; pending = []; },
    setMac(args) { mac = args.mac; },
    setMtu(args) { mtu = args.mtu; },
    setMulticast(args) { groups = new Set(args.groups); },
    setPromiscuous(args) { promiscuous = args.on; },
    async transmit({ frames }) {
      const accepted = up && carrier ? await port!.send(frames) : 0;
      for (let i = 0; i < accepted; i++) { stats.txFrames++; stats.txBytes += frames[i]!.length; }
      stats.txDropped += frames.length - accepted;
      return { accepted };
    },
    stats: () => ({ ...stats }),
    linkState: (): LinkState => ({ carrier, up, mac, mtu, promiscuous, multicast: [...groups].sort() }),
    shutdown() { up = false; port?.close(); },
  };
}
