/**
 * A virtual NIC's hardware, the zero-setup default of the network class. It lives in the
 * kernel, so it outlives every driver: its permanent address, its cable and whatever is
 * plugged into the other end stay the same while drivers come and go. A driver attaches
 * over a unix stream socket (one driver at a time; a new one replaces the old, as a reset
 * would); frames that arrive from the cable while no driver is attached are dropped and
 * counted, as a NIC with no receive ring drops them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, encodeAck, encodeCarrier, encodeHello, WireReader, WireType } from './wire-protocol.js';

/** Whatever is at the far end of a cable: a virtual host, another NIC, a capture. */
export interface WireEnd {
  receive(frame: Uint8Array): void;
}

export interface VirtualNicCounters {
  /** Frames the driver put on the cable. */
  sent: number;
  /** Frames from the cable handed to a driver. */
  delivered: number;
  /** Frames from the cable that found no driver attached (recovery windows). */
  droppedNoDriver: number;
  /** Drivers that attached over the hardware's life. */
  attaches: number;
}

let serial = 0;

export class VirtualNic implements WireEnd {
  readonly permanentMac: string;
  readonly maxMtu: number;
  readonly socketPath: string;
  readonly counters: VirtualNicCounters = { sent: 0, delivered: 0, droppedNoDriver: 0, attaches: 0 };
  readonly #dir: string;
  readonly #server: Server;
  #driver: Socket | undefined;
  #peer: WireEnd | undefined;
  #corked = false;

  private constructor(permanentMac: string, maxMtu: number) {
    this.permanentMac = permanentMac;
    this.maxMtu = maxMtu;
    this.#dir = mkdtempSync(join(tmpdir(), 'shadow-vnic-'));
    this.socketPath = join(this.#dir, 'nic.sock');
    this.#server = createServer((socket) => this.#attach(socket));
  }

  static async create(options: { permanentMac?: string; maxMtu?: number } = {}): Promise<VirtualNic> {
    const mac = options.permanentMac ?? `02:5d:00:00:${((++serial >> 8) & 0xff).toString(16).padStart(2, '0')}:${(serial & 0xff).toString(16).padStart(2, '0')}`;
    const nic = new VirtualNic(mac, options.maxMtu ?? 9000);
    await new Promise<void>((resolve, reject) => {
      nic.#server.once('error', reject);
      nic.#server.listen(nic.socketPath, () => { nic.#server.off('error', reject); resolve(); });
    });
    return nic;
  }

  /** Plugs a cable into the NIC; the other end receives what the driver transmits. */
  plug(peer: WireEnd): void {
    this.#peer = peer;
    this.#driver?.write(encodeCarrier(true));
  }

  unplug(): void {
    this.#peer = undefined;
    this.#driver?.write(encodeCarrier(false));
  }

  get carrier(): boolean {
    return this.#peer !== undefined;
  }

  /** A frame arriving from the cable. */
  receive(frame: Uint8Array): void {
    const driver = this.#driver;
    if (!driver || driver.destroyed) { this.counters.droppedNoDriver++; return; }
    this.counters.delivered++;
    // Frames that arrive in one turn of the event loop leave in one writev.
    if (!this.#corked) {
      this.#corked = true;
      driver.cork();
      process.nextTick(() => { this.#corked = false; driver.uncork(); });
    }
    driver.write(encode(WireType.Frame, frame));
  }

  async close(): Promise<void> {
    this.#driver?.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #attach(socket: Socket): void {
    this.#driver?.destroy(); // a new driver resets the hardware: the old connection is gone
    this.#driver = socket;
    this.counters.attaches++;
    socket.on('error', () => socket.destroy());
    socket.on('close', () => { if (this.#driver === socket) this.#driver = undefined; });
    let taken = 0;
    const reader = new WireReader((type, payload) => {
      if (type !== WireType.Frame) return;
      taken++;
      this.counters.sent++;
      this.#peer?.receive(payload);
    }, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      const before = taken;
      reader.push(chunk);
      // Taken frames are the driver's to count as sent: one acknowledgement per chunk read.
      if (taken !== before && !socket.destroyed) socket.write(encodeAck(taken));
    });
    socket.write(encodeHello({ permanentMac: this.permanentMac, maxMtu: this.maxMtu, carrier: this.carrier }));
  }
}
