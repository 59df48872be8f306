/**
 * What a virtual sound card's hardware and its driver say to each other (over framed
 * messages, src/hw/framing.ts). The hardware greets a driver with its capabilities and the
 * state of its stream; the driver configures the stream (playback or capture). Playback: the
 * driver sends PCM tagged with its frame index; the hardware acknowledges each piece it took
 * and reports each period it played. Capture: the driver fetches frames by their index in the
 * stream the application reads; the hardware answers with Data tagged the same way once it
 * has recorded them, and reports each period it recorded.
 */
import type { SoundCapabilities, StreamParams } from '../../classes/sound/pcm.js';

export const enum CardMessage { Hello = 1, Config = 2, Data = 3, Period = 4, Control = 5, Fetch = 6, Ack = 7 }

export const CARD_MESSAGES = [1, 2, 3, 4, 5, 6, 7];
export const MAX_CARD_MESSAGE = 8 + (1 << 22);

export type CardDirection = 'playback' | 'capture';

export interface CardConfig { params: StreamParams; direction: CardDirection }

export interface CardHello {
  capabilities: SoundCapabilities;
  /** The stream the card was running when this driver attached, if any. */
  stream: (CardConfig & { received: number; played: number }) | undefined;
}

/** Playback: frames played and received. Capture: frames recorded (both fields). */
export interface CardPeriod { played: number; received: number }

/** Playback: the frames the card has taken so far; `reset`: the answer to a reset control. */
export interface CardAck { received: number; reset?: true }

/** Capture: `frames` frames from index `at` of the stream the application reads. */
export interface CardFetch { at: number; frames: number }

export type CardControl = { pause: boolean } | { reset: true } | { volume: number } | { close: true };

/** A Data message's payload: the frame index (as a float64) then the PCM bytes. */
export function dataPayload(at: number, pcm: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + pcm.length);
  new DataView(out.buffer).setFloat64(0, at);
  out.set(pcm, 8);
  return out;
}

export function parseData(payload: Uint8Array): { at: number; pcm: Uint8Array } {
  return { at: new DataView(payload.buffer, payload.byteOffset).getFloat64(0), pcm: payload.subarray(8) };
}
