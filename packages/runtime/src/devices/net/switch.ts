/**
 * A learning Ethernet switch in the kernel: N ports, each a network device whose driver is
 * shadowed. It learns source addresses, forwards to the port that owns the destination,
 * floods group frames and unknown destinations, and can mirror every frame it forwards to a
 * monitor port. Its ports are promiscuous (a switch port must see every frame); that setting
 * is the system's configuration (a bridge's, made when the system's scripts add its ports): the
 * shadow replays it after a driver restart, and so does restart-only recovery's agent.
 */
import { destinationOf, isGroupFrame, sourceOf } from '../../classes/net/frames.js';
import { kSystemCall } from '../../kernel/device.js';
import type { NetDevice } from '../../kernel/net-device.js';

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
  readonly #table = new Map<string, { port: number; seen: number }>();
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
    ports.forEach((port, index) => sw.#unsubscribe.push(port.onReceive((frames) => sw.#switch(index, frames))));
    return sw;
  }

  /** Which port a MAC address was last seen on. */
  portOf(mac: string): number | undefined {
    return this.#table.get(mac)?.port;
  }

  stop(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #switch(ingress: number, frames: Uint8Array[]): void {
    const now = this.#now();
    for (const frame of frames) {
      this.counters.received++;
      if (!isGroupFrame(frame.subarray(6))) this.#table.set(sourceOf(frame), { port: ingress, seen: now });
      const known = isGroupFrame(frame) ? undefined : this.#table.get(destinationOf(frame));
      const fresh = known && now - known.seen <= this.#agingMs ? known : undefined;
      if (fresh && fresh.port === ingress) { this.counters.filtered++; continue; }
      if (fresh) this.#egress(fresh.port, frame);
      else {
        this.counters.flooded++;
        for (let p = 0; p < this.ports.length; p++) if (p !== ingress) this.#egress(p, frame);
      }
      if (this.#monitor) {
        if (this.#monitor.send(frame)) this.counters.mirrored++;
        else this.counters.mirrorDropped++;
      }
    }
  }

  #egress(port: number, frame: Uint8Array): void {
    if (this.ports[port]!.send(frame)) this.counters.forwarded++;
    else this.counters.dropped++;
  }
}
