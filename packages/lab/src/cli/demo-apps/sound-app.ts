/**
 * The demo's sound: a stream played on a virtual sound card through a shadowed `virtual`
 * driver, and another captured from a second card through a second driver, while seeded
 * schedules inject faults into both (at one device's rate for the pair). Both streams spell
 * each frame's index (src/sound/capture-source.ts), so what the card played and what the
 * application captured are checked frame by frame: no frame twice, none out of order, and
 * every frame written is played. Each silence the listener heard (a hole, in the capture) is
 * matched with the recovery window it fell in; the ones outside any are reported too (a busy
 * machine can starve a stream by itself).
 */
import { frameBytes, type StreamParams } from 'shadow-drivers';
import type { HostStalls } from './host-stalls.js';
import { FaultSchedule, faultsFor, mulberry32, type ScheduleStats } from '../../faults/schedule.js';
import type { DomainKind } from 'shadow-drivers';
import type { SoundDevice } from 'shadow-drivers';
import type { RecoveryEvent } from 'shadow-drivers';
import type { Runtime } from 'shadow-drivers';
import { frameIndex, sourceFrames } from 'shadow-drivers';
import { VirtualSoundCard } from 'shadow-drivers';
import type { DeviceEvents } from './device-events.js';

// 20 ms periods, 200 ms per call: the streams keep up on a machine busy with the disks and NICs.
const PLAYBACK: StreamParams = { format: 's16le', rate: 48000, channels: 2, periodFrames: 960, bufferFrames: 19200 };
const CAPTURE: StreamParams = { ...PLAYBACK, bufferFrames: 48000 };
const CALL_FRAMES = 10 * PLAYBACK.periodFrames;

export interface SoundStreamReport {
  device: string;
  direction: 'playback' | 'capture';
  faults: ScheduleStats;
  recoveries: RecoveryEvent[];
  gaveUp: string | undefined;
  /** The SoundDevice the application held from the start is still the kernel's device face. */
  sameObject: boolean;
  errors: number;
  problems: string[];
  /** Frames the application wrote (playback) or read (capture). */
  frames: number;
  /** Frames the card played (playback) or the source frames the capture holds (capture). */
  heard: number;
  duplicated: number;
  outOfOrder: number;
  /** Playback: the card played exactly the frames written, in order (the first difference otherwise). */
  exact: boolean;
  firstDifference: number;
  /** Each silence heard, or hole captured (ms), and how many fell outside every recovery window. */
  gapsMs: number[];
  /** Gaps outside every recovery window that a stall of the host explains (the machine's load). */
  gapsUnderLoad: number;
  /** Gaps outside every recovery window with no measured cause: these fail the demo. */
  gapsOutside: number;
  /** The longest of those, ms. */
  longestOutsideMs: number;
  /** Per recovery: what failed, how long recovery took, and the audio gap in its window. */
  perRecovery: { cause: string; recoveryMs: number; gapMs: number }[];
}

export interface SoundReport {
  streams: SoundStreamReport[];
  verdict: string[];
}

export interface SoundDemoOptions {
  domain: DomainKind;
  seed: number;
  faultInterval: number;
  events: DeviceEvents;
  /** The host's own stalls: the measured cause a gap outside every recovery window may have. */
  stalls: HostStalls;
  /** Attaches a shadowed `virtual` sound driver to the card at `socket`. */
  attach(name: string, socket: string): Promise<SoundDevice>;
}

/** Follows a stream's frame indices: where it jumps ahead (a hole), back (a repeat or a late frame). */
export class FrameCheck {
  frames = 0;
  duplicated = 0;
  outOfOrder = 0;
  readonly holes: { from: number; to: number }[] = [];
  #next = 0;

  constructor(readonly params: StreamParams) {}

  add(pcm: Uint8Array): void {
    const fb = frameBytes(this.params);
    for (let i = 0; i + fb <= pcm.length; i += fb) {
      const n = frameIndex(this.params, pcm.subarray(i, i + fb));
      this.frames++;
      if (n === this.#next) this.#next++;
      else if (n > this.#next) { this.holes.push({ from: this.#next, to: n }); this.#next = n + 1; }
      else if (this.holes.some((h) => n >= h.from && n < h.to)) this.outOfOrder++;
      else this.duplicated++;
    }
  }
}

interface Part {
  name: string;
  direction: 'playback' | 'capture';
  card: VirtualSoundCard;
  device: SoundDevice;
  schedule: FaultSchedule;
  check: FrameCheck;
  errors: number;
  problems: string[];
  /** Frames the application wrote (playback). */
  written: number;
  running: Promise<void> | undefined;
}

export class SoundDemo {
  readonly #rt: Runtime;
  readonly #events: DeviceEvents;
  readonly #stalls: HostStalls;
  readonly #parts: Part[];
  #stopping = false;

  private constructor(rt: Runtime, parts: Part[], events: DeviceEvents, stalls: HostStalls) {
    this.#rt = rt;
    this.#parts = parts;
    this.#events = events;
    this.#stalls = stalls;
  }

  static async create(rt: Runtime, options: SoundDemoOptions): Promise<SoundDemo> {
    const cards: VirtualSoundCard[] = [];
    const target = { manager: rt.manager, status: (device: string) => rt.status(device), inject: (device: string, fault: Parameters<Runtime['inject']>[1]) => {
      options.events.injected(device);
      rt.inject(device, fault);
    } };
    rt.manager.setMaxListeners(rt.manager.getMaxListeners() + 2);
    try {
      const parts: Part[] = [];
      for (const [i, [name, direction]] of ([['pcm0', 'playback'], ['cap0', 'capture']] as const).entries()) {
        const card = await VirtualSoundCard.create();
        cards.push(card);
        const device = await options.attach(name, card.socketPath);
        const schedule = new FaultSchedule(target, {
          device: name, kinds: faultsFor(options.domain), meanIntervalMs: options.faultInterval * 2, random: mulberry32(options.seed + 300 + i),
        });
        parts.push({ name, direction, card, device, schedule, check: new FrameCheck(direction === 'playback' ? PLAYBACK : CAPTURE),
          errors: 0, problems: [], written: 0, running: undefined });
      }
      return new SoundDemo(rt, parts, options.events, options.stalls);
    } catch (err) {
      await Promise.all(cards.map((card) => card.close()));
      throw err;
    }
  }

  /** Opens both streams, starts playing and capturing, and the faults. */
  async start(): Promise<void> {
    for (const part of this.#parts) {
      await part.device.open(part.direction);
      await part.device.configure(part.direction === 'playback' ? PLAYBACK : CAPTURE);
      part.running = (part.direction === 'playback' ? this.#play(part) : this.#capture(part)).catch((err: Error) => {
        part.errors++;
        if (part.problems.length < 5) part.problems.push(err.message);
      });
      part.schedule.start();
    }
  }

  async stopFaults(): Promise<void> {
    await Promise.all(this.#parts.map((p) => p.schedule.stop()));
  }

  /** Stops both streams (the playback drained), then checks what was heard and captured. */
  async finish(): Promise<SoundReport> {
    this.#stopping = true;
    await Promise.all(this.#parts.map((p) => p.running));
    const streams = this.#parts.map((p) => this.#report(p));
    const verdict: string[] = [];
    for (const s of streams) {
      if (s.errors > 0) verdict.push(`${s.device}: the application saw ${s.errors} errors (${s.problems[0]})`);
      for (const u of s.faults.unrecovered) verdict.push(`${s.device}: fault not recovered: ${u}`);
      if (s.gaveUp) verdict.push(`${s.device}: the driver was given up: ${s.gaveUp}`);
      if (!s.sameObject) verdict.push(`${s.device}: the sound device object changed`);
      if (s.duplicated > 0) verdict.push(`${s.device}: ${s.duplicated} frames ${s.direction === 'playback' ? 'played' : 'captured'} twice`);
      if (s.outOfOrder > 0) verdict.push(`${s.device}: ${s.outOfOrder} frames out of order`);
      if (!s.exact) verdict.push(`${s.device}: the card did not play what was written, from frame ${s.firstDifference} on`);
      if (s.frames === 0) verdict.push(`${s.device}: no audio went through`);
      if (s.gapsOutside > 0) {
        verdict.push(`${s.device}: ${s.gapsOutside} audio gap(s) outside every recovery window (longest ${s.longestOutsideMs.toFixed(0)} ms) `
          + 'with no stall of the host to explain them');
      }
    }
    return { streams, verdict };
  }

  async close(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#parts.map((p) => p.card.close()));
  }

  progress(): string {
    const seconds = (d: 'playback' | 'capture') => {
      const p = this.#parts.find((x) => x.direction === d)!;
      const frames = d === 'playback' ? p.card.output[0]?.frames ?? 0 : p.check.frames;
      return (frames / PLAYBACK.rate).toFixed(1);
    };
    const faults = this.#parts.reduce((n, p) => n + p.schedule.stats.total, 0);
    const recovered = this.#parts.reduce((n, p) => n + this.#events.recoveries(p.name).length, 0);
    return `sound: ${seconds('playback')} s played, ${seconds('capture')} s captured, ${faults} faults, ${recovered} recovered`;
  }

  async #play(part: Part): Promise<void> {
    while (!this.#stopping) {
      await part.device.write(sourceFrames(PLAYBACK, part.written, CALL_FRAMES));
      part.written += CALL_FRAMES;
    }
    await part.device.drain();
  }

  async #capture(part: Part): Promise<void> {
    while (!this.#stopping) part.check.add(await part.device.read(CALL_FRAMES * frameBytes(CAPTURE)));
  }

  #report(part: Part): SoundStreamReport {
    const { card, name } = part;
    const playback = part.direction === 'playback';
    let check = part.check;
    let firstDifference = -1;
    if (playback) {
      const played = card.played(0);
      check = new FrameCheck(PLAYBACK);
      check.add(played);
      firstDifference = differsAt(played, sourceFrames(PLAYBACK, 0, part.written));
    }
    const gaps: { ms: number; endedAt: number }[] = (playback ? card.output[0]?.gaps : card.captures[0]?.overruns) ?? [];
    // Each gap belongs to the recovery window it overlaps most (a gap may touch two), or to none.
    const windows = this.#events.windows(name);
    const owner = (g: { ms: number; endedAt: number }): number => {
      let best = -1;
      let most = -Infinity;
      windows.forEach((w, i) => {
        const overlap = Math.min(g.endedAt, w.end) - Math.max(g.endedAt - g.ms, w.start);
        if (overlap >= 0 && overlap > most) { best = i; most = overlap; }
      });
      return best;
    };
    const owners = gaps.map(owner);
    const outside = gaps.filter((_g, k) => owners[k]! < 0);
    const unexplained = outside.filter((g) => !this.#stalls.explains(g));
    const recoveries = this.#events.recoveries(name);
    const device = this.#rt.kernel.device(name);
    return {
      device: name, direction: part.direction, faults: part.schedule.stats, recoveries, gaveUp: this.#events.gaveUp.get(name),
      sameObject: device !== undefined && this.#rt.sound(device) === part.device,
      errors: part.errors, problems: part.problems, frames: playback ? part.written : part.check.frames,
      heard: check.frames - check.duplicated - check.outOfOrder, duplicated: check.duplicated, outOfOrder: check.outOfOrder,
      exact: firstDifference < 0, firstDifference,
      gapsMs: gaps.map((g) => g.ms),
      // A gap outside every recovery window is the machine's load when the host itself stalled then.
      gapsUnderLoad: outside.filter((g) => this.#stalls.explains(g)).length,
      gapsOutside: unexplained.length,
      longestOutsideMs: Math.max(0, ...unexplained.map((g) => g.ms)),
      perRecovery: recoveries.map((e, i) => ({
        cause: e.cause, recoveryMs: e.totalMs, gapMs: gaps.reduce((n, g, k) => (owners[k] === i ? n + g.ms : n), 0),
      })),
    };
  }
}

/** The first frame where `played` differs from `expected` (a shorter one differs where it ends), or -1. */
function differsAt(played: Uint8Array, expected: Uint8Array): number {
  const fb = frameBytes(PLAYBACK);
  const n = Math.min(played.length, expected.length);
  for (let i = 0; i < n; i++) if (played[i] !== expected[i]) return Math.floor(i / fb);
  return played.length === expected.length ? -1 : Math.floor(n / fb);
}
