/**
 * A learning Ethernet switch in the kernel: N ports, each a network device whose driver is
 * shadowed. It learns source addresses, forwards to the port that owns the destination,
 * floods group frames and unknown destinations, and can mirror every frame it forwards to a
 * monitor port. Its ports are promiscuous (a switch port must see every frame); that setting
 * is the system's configuration (a bridge's, made when the system's scripts add its ports): the
 * shadow replays it after a driver restart, and so does restart-only recovery's agent.
 *
 * Frames keep their offload headers through the switch: a 64 KiB TCP segment from a TAP
 * with offloads crosses once, and is cut into MTU-sized frames only at an egress port whose
 * driver does not take offloads (NetDevice.send). Forwarding allocates nothing per frame: the
 * table is keyed by the 48-bit address as a number and its entries are updated in place.
 */
import { isGroupFrame, macToBytes } from '../../classes/net/frames.js';
import type { Offload } from '../../classes/net/offload.js';
import { kSystemCall } from '../../kernel/device.js';
import type { NetDevice } from '../../kernel/net-device.js';

/** The MAC address at `at` of `frame` as a number (exact: 48 bits fit a double). */
function macKey(frame: Uint8Array, at: number): number {
  return ((frame[at]! << 8) | frame[at + 1]!) * 0x1_0000_0000
    + (((frame[at + 2]! << 24) | (frame[at + 3]! << 16) | (frame[at + 4]! << 8) | frame[at + 5]!) >>> 0);
}

export interface SwitchCounters {
  /** Frames that came in on any port. */
  received: number;
  /** Frame copies handed to an egress port's queue (a flooded frame counts once per port). */
  forwarded: number;
  /** Frames sent to every other port (group or unknown destination). */
  flooded: number;
  /** Frames whose destination sits on the port they came from. */
  filtered: number;
  /** Frame copies an egress queue refused (full, or its device gone). */
  dropped: number;
  /** Copies handed to the monitor port, and those it refused. */
  mirrored: number;
  mirrorDropped: number;
}

export interface SwitchOptions {
  /** A port that gets a copy of every frame forwarded (a capture, an analyzer). */
  monitor?: NetDevice;
  /** Learned addresses are forgotten after this long without a frame from them. */
  agingMs?: number;
  now?: () => number;
}

export class LearningSwitch {
  readonly ports: readonly NetDevice[];
  readonly counters: SwitchCounters = { received: 0, forwarded: 0, flooded: 0, filtered: 0, dropped: 0, mirrored: 0, mirrorDropped: 0 };
  readonly #table = new Map<number, { port: number; seen: number }>();
  readonly #monitor: NetDevice | undefined;
  readonly #agingMs: number;
  readonly #now: () => number;
  #unsubscribe: (() => void)[] = [];

  private constructor(ports: NetDevice[], options: SwitchOptions) {
    this.ports = ports;
    this.#monitor = options.monitor;
    this.#agingMs = options.agingMs ?? 300_000;
    this.#now = options.now ?? Date.now;
  }

  /** Brings every port up in promiscuous mode and starts switching. */
  static async start(ports: NetDevice[], options: SwitchOptions = {}): Promise<LearningSwitch> {
    const sw = new LearningSwitch(ports, options);
    // As the system's own configuration: restart-only recovery's agent re-applies it (without
    // it a restarted port drops every frame not addressed to itself and the switch goes deaf).
    for (const port of [...ports, ...(options.monitor ? [options.monitor] : [])]) {
      await port.device[kSystemCall]('setPromiscuous', { on: true });
      await port.device[kSystemCall]('up', {});
    }
    ports.forEach((port, index) => sw.#unsubscribe.push(port.onReceive((frames, offloads) => sw.#switch(index, frames, offloads), { offloads: true })));
    return sw;
  }

  /** Which port a MAC address was last seen on. */
  portOf(mac: string): number | undefined {
    return this.#table.get(macKey(macToBytes(mac), 0))?.port;
  }

  stop(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #switch(ingress: number, frames: Uint8Array[], offloads: (Offload | null)[] | undefined): void {
    const now = this.#now();
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      const offload = offloads?.[i] ?? null;
      this.counters.received++;
      if ((frame[6]! & 1) === 0) this.#learn(macKey(frame, 6), ingress, now);
      const known = isGroupFrame(frame) ? undefined : this.#table.get(macKey(frame, 0));
      const fresh = known && now - known.seen <= this.#agingMs ? known : undefined;
      if (fresh && fresh.port === ingress) { this.counters.filtered++; continue; }
      if (fresh) this.#egress(fresh.port, frame, offload);
      else {
        this.counters.flooded++;
        for (let p = 0; p < this.ports.length; p++) if (p !== ingress) this.#egress(p, frame, offload);
      }
      if (this.#monitor) {
        if (this.#monitor.send(frame, offload)) this.counters.mirrored++;
        else this.counters.mirrorDropped++;
      }
    }
  }

  #learn(key: number, port: number, now: number): void {
    const entry = this.#table.get(key);
    if (entry) { entry.port = port; entry.seen = now; } else this.#table.set(key, { port, seen: now });
  }

  #egress(port: number, frame: Uint8Array, offload: Offload | null): void {
    if (this.ports[port]!.send(frame, offload)) this.counters.forwarded++;
    else this.counters.dropped++;
  }
}
