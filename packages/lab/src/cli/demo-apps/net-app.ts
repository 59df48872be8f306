/**
 * The demo's network: three virtual NICs joined by the kernel's learning switch, each port a
 * shadowed `virtual` driver, each NIC's cable plugged into a host. Every host sends
 * sequence-numbered frames to each of the others, continuously, while seeded schedules inject
 * faults into the NIC drivers (at one device's rate for the whole switch). Each stream is checked frame by frame: a frame may be
 * lost, or overtaken, only if it was on its way while one of the two drivers on its path was
 * failing or recovering (from the fault's injection, or the detection of a failure nobody
 * injected, to the end of the recovery); a frame may never arrive twice.
 */
import { destinationOf, sourceOf } from 'shadow-drivers';
import type { NetStats } from 'shadow-drivers';
import { FaultSchedule, faultsFor, mulberry32, type ScheduleStats } from '../../faults/schedule.js';
import type { DomainKind } from 'shadow-drivers';
import type { NetDevice, NetQueueCounters } from 'shadow-drivers';
import { LearningSwitch } from 'shadow-drivers';
import { TEST_ETHERTYPE, VirtualHost } from '../../harness/virtual-host.js';
import { VirtualNic } from 'shadow-drivers';
import type { RecoveryEvent } from 'shadow-drivers';
import type { Runtime } from 'shadow-drivers';
import type { DeviceEvents } from './device-events.js';

const NICS = 3;
/** Every 50 ms each host sends 2 frames to each other host: 40 frames/s per stream. */
const TICK_MS = 50;
const PER_TICK = 2;

export interface NicReport {
  device: string;
  faults: ScheduleStats;
  recoveries: RecoveryEvent[];
  gaveUp: string | undefined;
  /** The NetDevice the switch held from the start is still the kernel's device face. */
  sameObject: boolean;
  stats: NetStats;
  queue: NetQueueCounters;
}

export interface StreamReport {
  from: string;
  to: string;
  sent: number;
  received: number;
  /** Frames lost, inside recovery windows of the stream's two drivers and outside them. */
  lost: { inside: number; outside: number };
  /** Frames that arrived after a later frame of the same stream. */
  reordered: { inside: number; outside: number };
  duplicates: number;
}

export interface NetReport {
  nics: NicReport[];
  streams: StreamReport[];
  /** Why the network part failed; empty when it passed. */
  verdict: string[];
}

export interface NetDemoOptions {
  domain: DomainKind;
  seed: number;
  faultInterval: number;
  /** The runtime's events, heard from before any fault: recoveries and recovery windows. */
  events: DeviceEvents;
  /** Attaches a shadowed `virtual` NIC driver to the hardware at `socket`. */
  attach(name: string, socket: string): Promise<NetDevice>;
}

/** One direction between two hosts: when each frame left and when it arrived. */
class Stream {
  readonly sentAt = new Map<number, number>();
  readonly arrivedAt = new Map<number, number>();
  readonly order: number[] = [];
  readonly overtaken: number[] = [];
  highest = -1;
  duplicates = 0;
  constructor(readonly from: number, readonly to: number) {}

  arrive(seq: number, at: number): void {
    if (this.arrivedAt.has(seq)) { this.duplicates++; return; }
    if (seq < this.highest) this.overtaken.push(seq);
    this.highest = Math.max(this.highest, seq);
    this.arrivedAt.set(seq, at);
  }

  /** The last frame sent has arrived: whatever has not by now is lost. */
  get settled(): boolean {
    return this.order.length > 0 && this.arrivedAt.has(this.order.at(-1)!);
  }
}

export class NetDemo {
  /** The NICs' hardware, and the host on the far end of each one's cable. */
  readonly nics: readonly VirtualNic[];
  readonly hosts: readonly VirtualHost[];
  readonly #rt: Runtime;
  readonly #ports: NetDevice[];
  readonly #switch: LearningSwitch;
  readonly #schedules: FaultSchedule[];
  readonly #windows: DeviceEvents;
  readonly #streams: Stream[] = [];
  #timer: NodeJS.Timeout | undefined;
  #arrival: (() => void) | undefined;
  #unsubscribe: (() => void)[] = [];

  private constructor(rt: Runtime, nics: VirtualNic[], ports: NetDevice[], sw: LearningSwitch, options: NetDemoOptions) {
    this.#rt = rt;
    this.nics = nics;
    this.#ports = ports;
    this.#switch = sw;
    this.#windows = options.events;
    this.hosts = nics.map((nic, i) => new VirtualHost(`02:de:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`, nic));
    // The schedules inject through the events record, so a window opens when a fault is sent in.
    const target = { manager: rt.manager, status: (device: string) => rt.status(device), inject: (device: string, fault: Parameters<Runtime['inject']>[1]) => {
      this.#windows.injected(device);
      rt.inject(device, fault);
    } };
    // The switch as a whole takes faults at one device's rate, spread over its NICs: a restart
    // costs a process start in process domains, and the disks' applications share the machine.
    this.#schedules = ports.map((port, i) => new FaultSchedule(target, {
      device: port.name, kinds: faultsFor(options.domain), meanIntervalMs: options.faultInterval * NICS, random: mulberry32(options.seed + 200 + i),
    }));
    for (let from = 0; from < NICS; from++) for (let to = 0; to < NICS; to++) if (from !== to) this.#streams.push(new Stream(from, to));
    this.hosts.forEach((host, to) => this.#unsubscribe.push(host.onFrame((frame) => this.#receive(to, frame))));
  }

  /** Creates the NICs and their hosts, attaches their drivers and starts the switch. */
  static async create(rt: Runtime, options: NetDemoOptions): Promise<NetDemo> {
    const nics: VirtualNic[] = [];
    // Each port's transmit queue and each fault schedule wait on the manager's recovery events.
    rt.manager.setMaxListeners(rt.manager.getMaxListeners() + 2 * NICS);
    try {
      for (let i = 0; i < NICS; i++) nics.push(await VirtualNic.create());
      const ports = await Promise.all(nics.map((nic, i) => options.attach(`net${i}`, nic.socketPath)));
      return new NetDemo(rt, nics, ports, await LearningSwitch.start(ports), options);
    } catch (err) {
      await Promise.all(nics.map((nic) => nic.close()));
      throw err;
    }
  }

  /** Starts the traffic and the faults. */
  start(): void {
    this.#timer = setInterval(() => {
      for (let k = 0; k < PER_TICK; k++) for (const stream of this.#streams) this.#send(stream);
    }, TICK_MS);
    this.#schedules.forEach((s) => s.start());
  }

  /** Injects no more faults; resolves once the last ones are recovered. */
  async stopFaults(): Promise<void> {
    await Promise.all(this.#schedules.map((s) => s.stop()));
  }

  /**
   * Stops the traffic and waits until the last frame of every stream has arrived (resent
   * while it has not, within a deadline); then every frame not arrived is lost, and each
   * loss or overtaking is judged against the recovery windows.
   */
  async finish(deadlineMs = 15_000): Promise<NetReport> {
    clearInterval(this.#timer);
    const verdict: string[] = [];
    const end = performance.now() + deadlineMs;
    for (let pending = this.#unsettled(); pending.length > 0; pending = this.#unsettled()) {
      if (performance.now() > end) {
        verdict.push(`network: frames stopped arriving on ${pending.map((s) => this.#name(s)).join(', ')}`);
        break;
      }
      pending.forEach((s) => this.#send(s));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 200);
        function done() { clearTimeout(timer); resolve(); }
        this.#arrival = () => { if (pending.every((s) => s.settled)) done(); };
      });
      this.#arrival = undefined;
    }
    this.#switch.stop();
    this.#unsubscribe.forEach((off) => off());
    const streams = this.#streams.map((s) => this.#judge(s));
    const nics = await Promise.all(this.#ports.map(async (port, i): Promise<NicReport> => {
      const device = this.#rt.kernel.device(port.name);
      return {
        device: port.name, faults: this.#schedules[i]!.stats, recoveries: this.#windows.recoveries(port.name),
        gaveUp: this.#windows.gaveUp.get(port.name), sameObject: device !== undefined && this.#rt.net(device) === port,
        stats: await port.stats(), queue: { ...port.counters },
      };
    }));
    for (const n of nics) {
      for (const u of n.faults.unrecovered) verdict.push(`${n.device}: fault not recovered: ${u}`);
      if (n.gaveUp) verdict.push(`${n.device}: the driver was given up: ${n.gaveUp}`);
      if (!n.sameObject) verdict.push(`${n.device}: the network device object changed`);
    }
    for (const s of streams) {
      const name = `${s.from} -> ${s.to}`;
      if (s.received === 0) verdict.push(`${name}: no frame arrived`);
      if (s.lost.outside > 0) verdict.push(`${name}: ${s.lost.outside} frames lost outside recovery windows`);
      if (s.reordered.outside > 0) verdict.push(`${name}: ${s.reordered.outside} frames reordered outside recovery windows`);
      if (s.duplicates > 0) verdict.push(`${name}: ${s.duplicates} frames arrived twice`);
    }
    return { nics, streams, verdict };
  }

  /** Closes the NICs' hardware; after the runtime closed their drivers. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.nics.map((nic) => nic.close()));
  }

  /** Frames sent and received so far, over all streams. */
  frames(): { sent: number; received: number } {
    return {
      sent: this.#streams.reduce((n, s) => n + s.order.length, 0),
      received: this.#streams.reduce((n, s) => n + s.arrivedAt.size, 0),
    };
  }

  progress(): string {
    const { sent, received } = this.frames();
    const faults = this.#schedules.reduce((n, s) => n + s.stats.total, 0);
    const recovered = this.#ports.reduce((n, p) => n + this.#windows.recoveries(p.name).length, 0);
    return `net: ${received}/${sent} frames, ${faults} faults, ${recovered} recovered`;
  }

  #send(stream: Stream): void {
    const size = 64 + (stream.order.length % 4) * 400;
    const seq = this.hosts[stream.from]!.send(this.hosts[stream.to]!.mac, size);
    stream.sentAt.set(seq, performance.now());
    stream.order.push(seq);
  }

  #receive(to: number, frame: Uint8Array): void {
    const host = this.hosts[to]!;
    if (destinationOf(frame) !== host.mac || frame.length < 22 || ((frame[12]! << 8) | frame[13]!) !== TEST_ETHERTYPE) return;
    const from = this.hosts.findIndex((h) => h.mac === sourceOf(frame));
    const stream = this.#streams.find((s) => s.from === from && s.to === to);
    if (!stream) return;
    stream.arrive(new DataView(frame.buffer, frame.byteOffset).getUint32(14), performance.now());
    this.#arrival?.();
  }

  #unsettled(): Stream[] {
    return this.#streams.filter((s) => !s.settled);
  }

  #name(s: Stream): string {
    return `${this.#ports[s.from]!.name} -> ${this.#ports[s.to]!.name}`;
  }

  /**
   * A lost frame was on its way from when it was sent until the next frame of its stream
   * arrived (the path keeps order); an overtaken one until it arrived. Either is explained
   * only by a recovery window of one of the stream's two drivers overlapping that time.
   */
  #judge(s: Stream): StreamReport {
    const devices = [this.#ports[s.from]!.name, this.#ports[s.to]!.name];
    const explained = (from: number, until: number) => this.#windows.overlaps(devices, from, until);
    const lost = { inside: 0, outside: 0 };
    let nextArrival = Infinity;
    for (let i = s.order.length - 1; i >= 0; i--) {
      const seq = s.order[i]!;
      const arrived = s.arrivedAt.get(seq);
      if (arrived !== undefined) { nextArrival = Math.min(nextArrival, arrived); continue; }
      lost[explained(s.sentAt.get(seq)!, nextArrival) ? 'inside' : 'outside']++;
    }
    const reordered = { inside: 0, outside: 0 };
    for (const seq of s.overtaken) reordered[explained(s.sentAt.get(seq)!, s.arrivedAt.get(seq)!) ? 'inside' : 'outside']++;
    return { from: devices[0]!, to: devices[1]!, sent: s.order.length, received: s.arrivedAt.size, lost, reordered, duplicates: s.duplicates };
  }
}
