/**
 * What the sound benchmarks play: a 48 kHz stereo s16le stream on the virtual card, kept fed
 * in real time by a player that writes one period at a time through the SoundDevice (each
 * write waits for room in the card's buffer) and counts the crossings it causes: its writes
 * and the periodElapsed upcalls it hears. A bare feeder plays the same stream by speaking the
 * card's protocol directly, with no runtime at all: the card's own cost, the floor.
 */
import { connect, type Socket } from 'node:net';
import { frameBytes, type StreamParams } from 'shadow-drivers';
import { frameMessage, jsonMessage, MessageReader, parseJson } from 'shadow-drivers/devices';
import type { SoundDevice } from 'shadow-drivers';
import { CARD_MESSAGES, CardMessage, dataPayload, MAX_CARD_MESSAGE, type CardConfig, type CardPeriod } from 'shadow-drivers/devices';
import type { VirtualSoundCard } from 'shadow-drivers/devices';

/** The card's buffer: 100 ms at 48 kHz. */
export const BUFFER_FRAMES = 4800;

export function streamParams(periodFrames: number): StreamParams {
  return { format: 's16le', rate: 48000, channels: 2, periodFrames, bufferFrames: BUFFER_FRAMES };
}

/** One period of a 440 Hz tone (the content does not matter to the card; it is not silence). */
function period(params: StreamParams): Uint8Array {
  const pcm = new Uint8Array(params.periodFrames * frameBytes(params));
  const view = new DataView(pcm.buffer);
  for (let i = 0; i < params.periodFrames; i++) {
    const v = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / params.rate));
    view.setInt16(i * 4, v, true);
    view.setInt16(i * 4 + 2, v, true);
  }
  return pcm;
}

/** The crossings a stream has caused so far. */
export interface StreamCounts {
  writes: number;
  periods: number;
}

export class Player implements StreamCounts {
  writes = 0;
  periods = 0;
  errors = 0;
  lastError: unknown;
  readonly #sound: SoundDevice;
  readonly #chunk: Uint8Array;
  readonly #off: () => void;
  #running = true;
  readonly #loop: Promise<void>;

  /** Starts playing on an opened, configured device. */
  constructor(sound: SoundDevice, params: StreamParams) {
    this.#sound = sound;
    this.#chunk = period(params);
    this.#off = sound.onPeriod(() => { this.periods++; });
    this.#loop = this.#play();
  }

  async #play(): Promise<void> {
    while (this.#running) {
      try {
        await this.#sound.write(this.#chunk);
        this.writes++;
      } catch (err) {
        // A shadow should conceal every failure; a stream that fails is stopped, not retried.
        this.errors++;
        this.lastError = err;
        this.#running = false;
      }
    }
  }

  /** Stops writing; waits (bounded) for the write in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#off();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise<void>((resolve) => { timer = setTimeout(resolve, 5000); })]);
    clearTimeout(timer);
  }
}

/** The same stream without a runtime: the card's protocol spoken directly from this thread. */
export class BareFeeder implements StreamCounts {
  writes = 0;
  periods = 0;
  readonly #socket: Socket;
  readonly #params: StreamParams;
  readonly #chunk: Uint8Array;
  #received = 0;
  #played = 0;

  private constructor(socket: Socket, params: StreamParams) {
    this.#socket = socket;
    this.#params = params;
    this.#chunk = period(params);
  }

  static start(card: VirtualSoundCard, params: StreamParams): Promise<BareFeeder> {
    return new Promise((resolve, reject) => {
      const socket = connect(card.socketPath);
      const feeder = new BareFeeder(socket, params);
      let greeted = false;
      const reader = new MessageReader(CARD_MESSAGES, MAX_CARD_MESSAGE, (type, payload) => {
        if (type === CardMessage.Hello && !greeted) {
          greeted = true;
          socket.write(jsonMessage(CardMessage.Config, { params, direction: 'playback' } satisfies CardConfig));
          feeder.#fill();
          resolve(feeder);
        } else if (type === CardMessage.Period) {
          feeder.periods++;
          feeder.#played = parseJson<CardPeriod>(payload).played;
          feeder.#fill();
        }
      }, (message) => socket.destroy(new Error(`sound card: ${message}`)));
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      socket.on('error', (err) => { if (!greeted) reject(err); });
    });
  }

  #fill(): void {
    const { periodFrames, bufferFrames } = this.#params;
    while (this.#received - this.#played + periodFrames <= bufferFrames) {
      this.#socket.write(frameMessage(CardMessage.Data, dataPayload(this.#received, this.#chunk)));
      this.#received += periodFrames;
      this.writes++;
    }
  }

  stop(): void {
    this.#socket.destroy();
  }
}

/** Polls `condition` every millisecond until it holds; throws after `deadlineMs`. */
export async function until(condition: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`sound bench: no ${what} within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
