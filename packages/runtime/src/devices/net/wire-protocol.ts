/**
 * How a virtual NIC's hardware and its driver talk over a stream socket (the way QEMU's
 * stream netdev carries frames): the messages of src/hw/framing.ts (a type byte, a 32-bit
 * big-endian length, the payload), as the virtual sound card uses them. The hardware greets
 * each driver that attaches with its permanent address, maximum MTU and carrier; frames go
 * both ways; carrier changes come from the hardware. The hardware acknowledges the frames it
 * took from the driver (a running count per connection): bytes still in the socket when the
 * connection dies are lost, so a frame is on the wire only once acknowledged.
 */
import { frameMessage, jsonMessage, MessageReader } from '../framing.js';

export const enum WireType { Hello = 1, Frame = 2, Carrier = 3, Ack = 4 }

export interface Hello { permanentMac: string; maxMtu: number; carrier: boolean }

/** The largest payload either side accepts: a jumbo frame plus its header. */
export const MAX_MESSAGE = 9014;

export const encode = (type: WireType, payload: Uint8Array): Buffer => frameMessage(type, payload);
export const encodeHello = (hello: Hello): Buffer => jsonMessage(WireType.Hello, hello);
export const encodeCarrier = (carrier: boolean): Buffer => frameMessage(WireType.Carrier, Uint8Array.of(carrier ? 1 : 0));
/** Frames the hardware took from this connection so far, modulo 2^32. */
export const encodeAck = (taken: number): Buffer => {
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, taken >>> 0);
  return frameMessage(WireType.Ack, payload);
};
export const decodeAck = (payload: Uint8Array): number => new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);

/** Splits a byte stream into messages (each payload a copy: a frame outlives its chunk); a malformed stream is reported, never half-parsed. */
export class WireReader extends MessageReader {
  constructor(onMessage: (type: WireType, payload: Uint8Array) => void, onError: (message: string) => void) {
    super([WireType.Hello, WireType.Frame, WireType.Carrier, WireType.Ack], MAX_MESSAGE, onMessage as (type: number, payload: Uint8Array) => void, onError);
  }
}
