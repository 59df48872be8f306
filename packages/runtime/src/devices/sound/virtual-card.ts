/**
 * A virtual sound card's hardware, the zero-setup default of the sound class. It lives in the
 * kernel and has its own clock: once a stream is configured it plays `rate` frames a second
 * from its buffer, whatever happens to drivers. What it plays is recorded (the card's
 * "speaker"), with every run of silence it had to insert because the buffer ran dry between
 * two pieces of audio: those runs are the gaps a listener hears. A capture stream records
 * `rate` frames a second of its source (src/sound/capture-source.ts) from the first fetch on,
 * keeping the last `bufferFrames`; frames fetched too late to be still there are an overrun:
 * the card serves the oldest it has instead and logs the hole. A driver attaches over a unix
 * socket; a new one replaces the old, and learns the stream's state from the greeting. The card
 * acknowledges every piece of PCM it takes: only then is it the card's (data still in a
 * socket dies with the connection).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkParams, frameBytes, type SoundCapabilities, type StreamParams } from '../../classes/sound/pcm.js';
import { frameMessage, jsonMessage, MessageReader, parseJson } from '../framing.js';
import {
  CARD_MESSAGES, CardMessage, dataPayload, MAX_CARD_MESSAGE, parseData,
  type CardAck, type CardConfig, type CardControl, type CardDirection, type CardFetch, type CardHello,
} from './card-protocol.js';
import { sourceFrames } from './capture-source.js';

/** A stretch of output played with one set of parameters. */
export interface PlayedSegment {
  params: StreamParams;
  /**
   * The audio played, in order. Silence played because the buffer ran dry is not in here (it
   * is in `gaps`); frames a driver skipped over (counted in `skippedFrames`) play as silence
   * and are.
   */
  chunks: Buffer[];
  frames: number;
  /**
   * Silence inserted between pieces of audio: where (in frames of audio played before it), how
   * long, and when the audio resumed (performance.now()).
   */
  gaps: { afterFrames: number; frames: number; ms: number; endedAt: number }[];
  volume: number;
}

/** A capture stream: what was recorded and handed out, and each hole an overrun left. */
export interface CaptureSegment {
  params: StreamParams;
  /** Frames recorded by the card's clock. */
  recorded: number;
  /** Frames handed to drivers (a fetch served again counts again). */
  served: number;
  /**
   * Frames lost to overruns: at which index of the application's stream, how many, how long,
   * and when the first frame after the hole was recorded (performance.now()).
   */
  overruns: { at: number; frames: number; ms: number; endedAt: number }[];
}

export const defaultCapabilities: SoundCapabilities = {
  formats: ['u8', 's16le', 's32le', 'f32le'], rates: [8000, 16000, 22050, 44100, 48000], maxChannels: 2, maxBufferFrames: 1 << 18,
};

const TICK_MS = 5;

interface Stream {
  params: StreamParams;
  direction: CardDirection;
  fb: number;
  queue: Buffer[];
  queuedBytes: number;
  received: number;
  played: number;
  paused: boolean;
  /** Frames of silence since the last audio, committed as a gap when audio resumes. */
  silence: number;
  clockStart: number;
  clockFrames: number;
  /**
   * Capture: frames recorded, how far the source runs ahead of the application's stream (the
   * frames overruns took), whether the clock runs (from the first fetch), fetches waiting.
   */
  recorded: number;
  skew: number;
  started: boolean;
  fetches: CardFetch[];
}

export class VirtualSoundCard {
  readonly socketPath: string;
  readonly capabilities: SoundCapabilities;
  readonly output: PlayedSegment[] = [];
  readonly captures: CaptureSegment[] = [];
  readonly counters = { attaches: 0, duplicateFrames: 0, skippedFrames: 0, overrunFrames: 0 };
  readonly #dir: string;
  readonly #server: Server;
  readonly #timer: NodeJS.Timeout;
  #driver: Socket | undefined;
  #stream: Stream | undefined;
  #volume = 1;

  private constructor(capabilities: SoundCapabilities) {
    this.capabilities = capabilities;
    this.#dir = mkdtempSync(join(tmpdir(), 'shadow-vcard-'));
    this.socketPath = join(this.#dir, 'card.sock');
    this.#server = createServer((socket) => this.#attach(socket));
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  static async create(capabilities: SoundCapabilities = defaultCapabilities): Promise<VirtualSoundCard> {
    const card = new VirtualSoundCard(capabilities);
    await new Promise<void>((resolve, reject) => {
      card.#server.once('error', reject);
      card.#server.listen(card.socketPath, () => { card.#server.off('error', reject); resolve(); });
    });
    return card;
  }

  /** Frames buffered and not yet played. */
  get buffered(): number {
    const s = this.#stream;
    return s ? s.received - s.played : 0;
  }

  /** Everything played with the current parameters, as one buffer. */
  played(segment = this.output.length - 1): Buffer {
    return Buffer.concat(this.output[segment]?.chunks ?? []);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#driver?.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #attach(socket: Socket): void {
    this.#driver?.destroy();
    this.#driver = socket;
    this.counters.attaches++;
    socket.on('error', () => socket.destroy());
    socket.on('close', () => { if (this.#driver === socket) this.#driver = undefined; });
    const reader = new MessageReader(CARD_MESSAGES, MAX_CARD_MESSAGE, (type, payload) => this.#message(type, payload), () => socket.destroy());
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    const s = this.#stream;
    if (s) s.fetches = []; // the previous driver's: its successor fetches again what it still needs
    const hello: CardHello = { capabilities: this.capabilities, stream: s && { params: s.params, direction: s.direction, ...this.#position(s) } };
    socket.write(jsonMessage(CardMessage.Hello, hello));
  }

  /** A driver's message; one the card cannot take throws, and the card drops that driver. */
  #message(type: number, payload: Uint8Array): void {
    if (type === CardMessage.Config) return this.#configure(this.#checkConfig(parseJson<CardConfig>(payload)));
    if (type === CardMessage.Data) return this.#data(parseData(payload));
    if (type === CardMessage.Fetch) return this.#fetch(parseJson<CardFetch>(payload));
    if (type === CardMessage.Control) {
      const c = parseJson<CardControl>(payload);
      const s = this.#stream;
      if (typeof c !== 'object' || c === null) throw new Error('a control message must be an object');
      if ('volume' in c && (typeof c.volume !== 'number' || !Number.isFinite(c.volume) || c.volume < 0 || c.volume > 16)) {
        throw new Error('volume must be a number from 0 to 16');
      }
      if ('pause' in c && typeof c.pause !== 'boolean') throw new Error('pause must be true or false');
      if ('volume' in c) { this.#volume = c.volume; if (this.output.length) this.output.at(-1)!.volume = c.volume; }
      if ('reset' in c) {
        if (s) Object.assign(s, { queue: [], queuedBytes: 0, received: 0, played: 0, silence: 0, recorded: 0, skew: 0, started: false, fetches: [] });
        this.#driver?.write(jsonMessage(CardMessage.Ack, { received: 0, reset: true } satisfies CardAck));
      }
      if (!s) return;
      if ('pause' in c) { s.paused = c.pause; this.#restartClock(s); }
      if ('close' in c) this.#stream = undefined;
    }
  }

  /** The card's own check of what a driver asks of it: parameters it offers, a known direction. */
  #checkConfig(config: CardConfig): CardConfig {
    if (typeof config !== 'object' || config === null) throw new Error('a configuration must be an object');
    if (config.direction !== 'playback' && config.direction !== 'capture') throw new Error('direction must be playback or capture');
    const problem = checkParams(config.params, this.capabilities);
    if (problem) throw new Error(problem);
    return config;
  }

  /** Same parameters and direction: nothing changes (a replay). New ones: a new stream, a new segment. */
  #configure({ params, direction }: CardConfig): void {
    const s = this.#stream;
    if (s && s.direction === direction && JSON.stringify(s.params) === JSON.stringify(params)) return;
    this.#stream = {
      params, direction, fb: frameBytes(params), queue: [], queuedBytes: 0, received: 0, played: 0, paused: false, silence: 0,
      clockStart: 0, clockFrames: 0, recorded: 0, skew: 0, started: false, fetches: [],
    };
    this.#restartClock(this.#stream);
    if (direction === 'capture') this.captures.push({ params, recorded: 0, served: 0, overruns: [] });
    else this.output.push({ params, chunks: [], frames: 0, gaps: [], volume: this.#volume });
  }

  #position(s: Stream): { received: number; played: number } {
    return s.direction === 'capture' ? { received: s.recorded, played: s.recorded } : { received: s.received, played: s.played };
  }

  /** Capture: a fetch waits until its frames are recorded; the clock starts with the first. */
  #fetch(f: CardFetch): void {
    const s = this.#stream;
    if (!s || s.direction !== 'capture') return;
    if (!Number.isSafeInteger(f?.at) || f.at < 0 || !Number.isSafeInteger(f.frames) || f.frames <= 0 || f.frames > s.params.bufferFrames) return;
    s.fetches.push(f);
    if (!s.started) { s.started = true; this.#restartClock(s); }
    this.#serve(s);
  }

  #serve(s: Stream): void {
    const segment = this.captures.at(-1)!;
    while (s.fetches.length > 0) {
      const f = s.fetches[0]!;
      let from = f.at + s.skew;
      if (s.recorded < from + f.frames) return;
      const oldest = Math.max(0, s.recorded - s.params.bufferFrames);
      if (from < oldest) {
        // Overrun: those frames are recorded over. The stream goes on from the oldest kept.
        const lost = oldest - from;
        s.skew += lost;
        from = oldest;
        this.counters.overrunFrames += lost;
        const ms = (lost * 1000) / s.params.rate;
        segment.overruns.push({ at: f.at, frames: lost, ms, endedAt: performance.now() - ((s.recorded - oldest) * 1000) / s.params.rate });
      }
      s.fetches.shift();
      segment.served += f.frames;
      this.#driver?.write(frameMessage(CardMessage.Data, dataPayload(f.at, sourceFrames(s.params, from, f.frames))));
    }
  }

  #data({ at, pcm }: { at: number; pcm: Uint8Array }): void {
    if (!Number.isSafeInteger(at) || at < 0) throw new Error('a data message must start at a frame index');
    const s = this.#stream;
    if (!s || s.direction !== 'playback' || pcm.length % s.fb !== 0) return;
    let frames = pcm.length / s.fb;
    let bytes = Buffer.from(pcm);
    if (at < s.received) {
      // Already here (a resubmitted write): play only what is new.
      const overlap = Math.min(frames, s.received - at);
      this.counters.duplicateFrames += overlap;
      bytes = bytes.subarray(overlap * s.fb);
      frames -= overlap;
    } else if (at > s.received) {
      // Frames that never arrived: the card plays silence in their place (a gap), so its
      // position still reaches everything it counts as received.
      const missing = at - s.received;
      this.counters.skippedFrames += missing;
      const silence = Buffer.alloc(missing * s.fb, s.params.format === 'u8' ? 0x80 : 0);
      s.queue.push(silence);
      s.queuedBytes += silence.length;
      s.received = at;
    }
    if (frames > 0) {
      s.queue.push(bytes);
      s.queuedBytes += bytes.length;
      s.received = Math.max(s.received, at) + frames;
    }
    this.#driver?.write(jsonMessage(CardMessage.Ack, { received: s.received } satisfies CardAck));
  }

  #restartClock(s: Stream): void {
    s.clockStart = performance.now();
    s.clockFrames = 0;
  }

  #tick(): void {
    const s = this.#stream;
    if (!s || s.paused) return;
    const due = Math.floor(((performance.now() - s.clockStart) * s.params.rate) / 1000) - s.clockFrames;
    if (due <= 0) return;
    s.clockFrames += due;
    if (s.direction === 'capture') return this.#record(s, due);
    const segment = this.output.at(-1)!;
    let want = due;
    let playedNow = 0;
    while (want > 0 && s.queue.length > 0) {
      const head = s.queue[0]!;
      const take = Math.min(want, head.length / s.fb);
      if (s.silence > 0 && s.played > 0) {
        segment.gaps.push({ afterFrames: segment.frames, frames: s.silence, ms: (s.silence * 1000) / s.params.rate, endedAt: performance.now() });
      }
      s.silence = 0;
      segment.chunks.push(head.subarray(0, take * s.fb));
      segment.frames += take;
      s.queue[0] = head.subarray(take * s.fb);
      if (s.queue[0].length === 0) s.queue.shift();
      s.queuedBytes -= take * s.fb;
      s.played += take;
      playedNow += take;
      want -= take;
    }
    if (want > 0 && s.played > 0) s.silence += want; // the buffer ran dry: silence plays
    if (playedNow > 0) this.#driver?.write(jsonMessage(CardMessage.Period, { played: s.played, received: s.received }));
  }

  #record(s: Stream, due: number): void {
    if (!s.started) return;
    const period = s.params.periodFrames;
    const before = Math.floor(s.recorded / period);
    s.recorded += due;
    this.captures.at(-1)!.recorded = s.recorded;
    this.#serve(s);
    if (Math.floor(s.recorded / period) > before) {
      this.#driver?.write(jsonMessage(CardMessage.Period, { played: s.recorded, received: s.recorded }));
    }
  }
}
