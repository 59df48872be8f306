/**
 * A virtual sound card's hardware, the zero-setup default of the sound class. It lives in the
 * kernel and has its own clock: once a stream is configured it plays `rate` frames a second
 * from its buffer, whatever happens to drivers. What it plays is recorded (the card's
 * "speaker"), with every run of silence it had to insert because the buffer ran dry between
 * two pieces of audio: those runs are the gaps a listener hears. A driver attaches over a unix
 * socket; a new one replaces the old, and learns the stream's state from the greeting. The card
 * acknowledges every piece of PCM it takes: only then is it the card's (data still in a
 * socket dies with the connection).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frameBytes, type SoundCapabilities, type StreamParams } from '../classes/sound/pcm.js';
import { jsonMessage, MessageReader, parseJson } from '../hw/framing.js';
import { CARD_MESSAGES, CardMessage, MAX_CARD_MESSAGE, parseData, type CardAck, type CardControl, type CardHello } from './card-protocol.js';

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
  /** Silence inserted between pieces of audio: where (in frames of audio played before it) and how long. */
  gaps: { afterFrames: number; frames: number; ms: number }[];
  volume: number;
}

export const defaultCapabilities: SoundCapabilities = {
  formats: ['u8', 's16le', 's32le', 'f32le'], rates: [8000, 16000, 22050, 44100, 48000], maxChannels: 2, maxBufferFrames: 1 << 18,
};

const TICK_MS = 5;

interface Stream {
  params: StreamParams;
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
}

export class VirtualSoundCard {
  readonly socketPath: string;
  readonly capabilities: SoundCapabilities;
  readonly output: PlayedSegment[] = [];
  readonly counters = { attaches: 0, duplicateFrames: 0, skippedFrames: 0 };
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
    const hello: CardHello = { capabilities: this.capabilities, stream: s && { params: s.params, received: s.received, played: s.played } };
    socket.write(jsonMessage(CardMessage.Hello, hello));
  }

  #message(type: number, payload: Uint8Array): void {
    if (type === CardMessage.Config) return this.#configure(parseJson<StreamParams>(payload));
    if (type === CardMessage.Data) return this.#data(parseData(payload));
    if (type === CardMessage.Control) {
      const c = parseJson<CardControl>(payload);
      const s = this.#stream;
      if ('volume' in c) { this.#volume = c.volume; if (this.output.length) this.output.at(-1)!.volume = c.volume; }
      if ('reset' in c) {
        if (s) Object.assign(s, { queue: [], queuedBytes: 0, received: 0, played: 0, silence: 0 });
        this.#driver?.write(jsonMessage(CardMessage.Ack, { received: 0, reset: true } satisfies CardAck));
      }
      if (!s) return;
      if ('pause' in c) { s.paused = c.pause; this.#restartClock(s); }
      if ('close' in c) this.#stream = undefined;
    }
  }

  /** Same parameters: nothing changes (a replay). New ones: a new stream, a new segment. */
  #configure(params: StreamParams): void {
    const s = this.#stream;
    if (s && JSON.stringify(s.params) === JSON.stringify(params)) return;
    this.#stream = { params, fb: frameBytes(params), queue: [], queuedBytes: 0, received: 0, played: 0, paused: false, silence: 0, clockStart: 0, clockFrames: 0 };
    this.#restartClock(this.#stream);
    this.output.push({ params, chunks: [], frames: 0, gaps: [], volume: this.#volume });
  }

  #data({ at, pcm }: { at: number; pcm: Uint8Array }): void {
    const s = this.#stream;
    if (!s || pcm.length % s.fb !== 0) return;
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
    const segment = this.output.at(-1)!;
    let want = due;
    let playedNow = 0;
    while (want > 0 && s.queue.length > 0) {
      const head = s.queue[0]!;
      const take = Math.min(want, head.length / s.fb);
      if (s.silence > 0 && s.played > 0) {
        segment.gaps.push({ afterFrames: segment.frames, frames: s.silence, ms: (s.silence * 1000) / s.params.rate });
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
}

