/**
 * What a virtual sound card's hardware and its driver say to each other (over framed
 * messages, src/hw/framing.ts). The hardware greets a driver with its capabilities and the
 * state of the stream it is playing; the driver configures the stream and sends PCM tagged
 * with its frame index; the hardware acknowledges each piece it took and reports each period
 * it played.
 */
import type { SoundCapabilities, StreamParams } from '../classes/sound/pcm.js';

export const enum CardMessage { Hello = 1, Config = 2, Data = 3, Period = 4, Control = 5, Ack = 7 }

export const CARD_MESSAGES = [1, 2, 3, 4, 5, 7];
export const MAX_CARD_MESSAGE = 8 + (1 << 22);

export interface CardHello {
  capabilities: SoundCapabilities;
  /** The stream the card was playing when this driver attached, if any. */
  stream: { params: StreamParams; received: number; played: number } | undefined;
}

export interface CardPeriod { played: number; received: number }

/** The frames the card has taken so far; `reset`: the answer to a reset control. */
export interface CardAck { received: number; reset?: true }

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
