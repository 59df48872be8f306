/**
 * Devices of each class under a running, verified workload, for the live-update tests: a disk
 * image with its data set, a virtual NIC with sequence-numbered frames both ways, a virtual
 * sound card playing a stream whose samples spell their frame's index. Each subject says what
 * an application-visible error is for its class and checks, once stopped, that nothing was
 * lost, duplicated or reordered where its class promises it.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  builtInDrivers, destinationOf, frameBytes, macToBytes, sourceOf, VirtualNic, VirtualSoundCard,
  type BlockDevice, type DriverSpec, type Runtime, type StreamParams, type WireEnd,
} from '../../src/index.js';
import { until } from '../../src/testing/events.js';
import { BLOCK, BlockWorkload } from '../../src/testing/workload.js';

export type Domain = NonNullable<DriverSpec['domain']>;

/** A device with its application running: what an update must not disturb. */
export interface Running {
  /** The device's application-facing object (BlockDevice, NetDevice, SoundDevice). */
  face: object;
  /** Operations completed so far: grows while the application gets through. */
  progress(): number;
  /** Application-visible errors so far. */
  errors(): unknown[];
  /**
   * Stops the application, checks everything it did, and says what it did. `failures`: a driver
   * failed meanwhile (a rollback), so frames a NIC had in flight may be lost (never duplicated).
   */
  stopAndVerify(options?: { failures?: boolean }): Promise<string>;
  /** Releases the hardware and files (after the runtime closed). */
  cleanup(): Promise<void>;
}

export interface Subject {
  what: string;
  className: 'block' | 'net' | 'sound';
  /** The built-in driver; its second version is `${v1}-v2`. */
  v1: string;
  start(rt: Runtime, name: string, domain: Domain): Promise<Running>;
}

/**
 * Version 2 of a built-in driver: its module under another URL (a query), so each domain loads
 * it as a module of its own, with the built-in manifest's resources under the name `${name}-v2`.
 */
export function registerSecondVersion(rt: Runtime, className: string, name: string, variant = 'v2'): string {
  const builtIn = builtInDrivers.find((m) => m.class === className && m.name === name);
  assert.ok(builtIn, `no built-in ${className} driver ${name}`);
  rt.registerDriver({ ...builtIn, name: `${name}-${variant}`, module: `${builtIn.module}?${variant}` });
  return `${name}-${variant}`;
}

/** The block workload on a disk `attach` made (`ram` or `file`). */
async function blockWorkload(disk: BlockDevice, cleanup: () => Promise<void>): Promise<Running> {
  await disk.open();
  await disk.configure('writeCache', 'writeback');
  const work = new BlockWorkload(disk, 128);
  await work.fill();
  let stop = false;
  const running = work.run(8, () => stop);
  return {
    face: disk,
    progress: () => work.completed,
    errors: () => work.errors,
    async stopAndVerify() {
      stop = true;
      await running;
      await work.verifyAll();
      assert.equal(work.mismatches, 0, 'every read matched what was written');
      return `${work.completed} requests, every block verified`;
    },
    cleanup,
  };
}

export const ramDisk: Subject = {
  what: 'block ram', className: 'block', v1: 'ram',
  async start(rt, name, domain) {
    const disk = await rt.attachBlock({ name, driver: 'ram', domain, config: { sizeBytes: 256 * BLOCK } });
    return blockWorkload(disk, async () => undefined);
  },
};

export const fileDisk: Subject = {
  what: 'block file (a disk image)', className: 'block', v1: 'file',
  async start(rt, name, domain) {
    const dir = mkdtempSync(join(tmpdir(), 'shadow-update-'));
    const path = join(dir, 'disk.img');
    writeFileSync(path, new Uint8Array(256 * BLOCK));
    const disk = await rt.attachBlock({ name, driver: 'file', domain, config: { path } });
    return blockWorkload(disk, async () => rmSync(dir, { recursive: true, force: true }));
  },
};

/** An EtherType from the IEEE "local experimental" range; the frame's sequence number follows it. */
const ETHERTYPE = 0x88b5;
const PEER = '02:5e:00:00:00:01';

function numbered(to: string, from: string, seq: number): Uint8Array {
  const frame = new Uint8Array(64);
  frame.set(macToBytes(to), 0);
  frame.set(macToBytes(from), 6);
  frame[12] = ETHERTYPE >> 8;
  frame[13] = ETHERTYPE & 0xff;
  new DataView(frame.buffer).setUint32(14, seq);
  return frame;
}

/** What arrived of one numbered stream: every number once, in order, or the count of each miss. */
export class Sequence {
  readonly seen = new Set<number>();
  highest = -1;
  duplicates = 0;
  reordered = 0;

  take(frame: Uint8Array, to: string): void {
    if (frame.length < 18 || destinationOf(frame) !== to || ((frame[12]! << 8) | frame[13]!) !== ETHERTYPE) return;
    const seq = new DataView(frame.buffer, frame.byteOffset).getUint32(14);
    if (this.seen.has(seq)) { this.duplicates++; return; }
    if (seq < this.highest) this.reordered++;
    this.seen.add(seq);
    this.highest = Math.max(this.highest, seq);
  }

  /** Numbers below the highest that never arrived. */
  get lost(): number {
    return this.highest + 1 - this.seen.size;
  }
}

export const virtualNic: Subject = {
  what: 'net virtual', className: 'net', v1: 'virtual',
  async start(rt, name, domain) {
    const nic = await VirtualNic.create();
    const fromApp = new Sequence();
    const toApp = new Sequence();
    // The far end of the cable: keeps what the application sent, sends numbered frames back.
    const peer: WireEnd = { receive: (frame) => fromApp.take(frame, PEER) };
    nic.plug(peer);
    const port = await rt.attachNet({ name, driver: 'virtual', domain, config: { socket: nic.socketPath } });
    await port.up();
    const mac = (await port.linkState()).mac;
    port.onReceive((frames) => { for (const f of frames) if (sourceOf(f) === PEER) toApp.take(f, mac); });
    let sent = 0;
    let peerSent = 0;
    // Steady traffic both ways; the application never fills its queue (a full queue drops).
    const traffic = setInterval(() => {
      for (let i = 0; i < 8 && port.queued < 256; i++) port.send(numbered(PEER, mac, sent++));
      for (let i = 0; i < 8; i++) nic.receive(numbered(mac, PEER, peerSent++));
    }, 2);
    const errors = () => {
      const c = port.counters;
      return c.droppedGone + c.droppedQueueFull + c.droppedByDriver > 0 ? [{ ...c }] : [];
    };
    return {
      face: port,
      progress: () => fromApp.seen.size + toApp.seen.size,
      errors,
      async stopAndVerify(options = {}) {
        clearInterval(traffic);
        // A last frame each way after the last update: then everything sent has arrived or is lost.
        const last = sent;
        port.send(numbered(PEER, mac, sent++));
        const lastIn = peerSent;
        nic.receive(numbered(mac, PEER, peerSent++));
        await until(() => fromApp.seen.has(last), 'the application\'s last frame to reach the wire');
        await until(() => toApp.seen.has(lastIn), 'the peer\'s last frame to reach the application');
        await port.drained();
        assert.deepEqual(errors(), [], 'no frame the application sent was dropped');
        const { indeterminate } = port.counters;
        if (!options.failures) assert.equal(indeterminate, 0, 'no frame was in flight at a failed driver');
        assert.ok(fromApp.seen.size >= sent - indeterminate, `every frame the application sent reached the wire (${fromApp.seen.size} of ${sent}, ${indeterminate} in flight at a failure)`);
        assert.equal(fromApp.duplicates + fromApp.reordered, 0, 'transmit: no frame duplicated or reordered');
        assert.equal(toApp.duplicates, 0, 'receive: no frame duplicated');
        assert.equal(toApp.reordered, 0, 'receive: no frame reordered');
        return `transmit ${sent} frames, ${fromApp.seen.size} delivered in order; receive ${toApp.seen.size} of ${peerSent} in order ` +
          `(${toApp.lost} lost, ${nic.counters.droppedNoDriver} of them while no driver held the NIC); ${port.counters.busy} busy answers`;
      },
      async cleanup() { await nic.close(); },
    };
  },
};

const PARAMS: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 480, bufferFrames: 4800 };
/** The player writes a period at a time: its progress shows within any update. */
const CHUNK = PARAMS.periodFrames;

/** Frames `from`..`from + frames` of the stream: each frame's samples spell its index. */
export function streamFrames(from: number, frames: number): Uint8Array {
  const pcm = new Uint8Array(frames * frameBytes(PARAMS));
  const view = new DataView(pcm.buffer);
  for (let k = 0; k < frames; k++) {
    const i = from + k;
    view.setInt16(k * 4, (i & 0x7fff) - 0x4000, true);
    view.setInt16(k * 4 + 2, ((i >> 15) & 0x7fff) - 0x4000, true);
  }
  return pcm;
}

/** The first frame at which `played` differs from the stream's first `frames`, or -1. */
function firstDifference(played: Uint8Array, frames: number): number {
  const expected = streamFrames(0, frames);
  const n = Math.min(played.length, expected.length);
  for (let i = 0; i < n; i++) if (played[i] !== expected[i]) return Math.floor(i / frameBytes(PARAMS));
  return played.length === expected.length ? -1 : Math.floor(n / frameBytes(PARAMS));
}

export const virtualSound: Subject = {
  what: 'sound virtual', className: 'sound', v1: 'virtual',
  async start(rt, name, domain) {
    const card = await VirtualSoundCard.create();
    const sound = await rt.attachSound({ name, driver: 'virtual', domain, config: { socket: card.socketPath } });
    await sound.open('playback');
    await sound.configure(PARAMS);
    const errors: unknown[] = [];
    let written = 0;
    let stop = false;
    // A player: the stream, chunk after chunk, until told to stop.
    const playing = (async () => {
      while (!stop) {
        try { await sound.write(streamFrames(written, CHUNK)); } catch (err) { errors.push(err); return; }
        written += CHUNK;
      }
    })();
    return {
      face: sound,
      progress: () => written,
      errors: () => errors,
      async stopAndVerify() {
        stop = true;
        await playing;
        await sound.drain();
        assert.equal(card.output.length, 1, 'one stream, never reconfigured');
        assert.deepEqual(card.output[0]!.params, PARAMS, 'the format and rate stayed as configured');
        assert.equal(card.counters.skippedFrames, 0, 'no frame written was lost on its way to the card');
        assert.equal(firstDifference(card.played(0), written), -1, 'the card played every frame once, in order');
        assert.equal((await sound.position()).written, written, 'the position counts every frame once');
        return `${written} frames played once each, in order; ${card.output[0]!.gaps.length} gaps, ` +
          `${card.counters.duplicateFrames} resent frames dropped by the card`;
      },
      async cleanup() { await card.close(); },
    };
  },
};
