/**
 * How a virtual NIC's hardware and its driver talk over a stream socket (the way QEMU's
 * stream netdev carries frames): the messages of src/hw/framing.ts (a type byte, a 32-bit
 * big-endian length, the payload), as the virtual sound card uses them. The hardware greets
 * each driver that attaches with its permanent address, maximum MTU and carrier; frames go
 * both ways; carrier changes come from the hardware.
 */
import { frameMessage, jsonMessage, MessageReader } from '../framing.js';

export const enum WireType { Hello = 1, Frame = 2, Carrier = 3 }

export interface Hello { permanentMac: string; maxMtu: number; carrier: boolean }

/** The largest payload either side accepts: a jumbo frame plus its header. */
export const MAX_MESSAGE = 9014;

export const encode = (type: WireType, payload: Uint8Array): Buffer => frameMessage(type, payload);
export const encodeHello = (hello: Hello): Buffer => jsonMessage(WireType.Hello, hello);
export const encodeCarrier = (carrier: boolean): Buffer => frameMessage(WireType.Carrier, Uint8Array.of(carrier ? 1 : 0));

/** Splits a byte stream into messages (each payload a copy: a frame outlives its chunk); a malformed stream is reported, never half-parsed. */
export class WireReader extends MessageReader {
  constructor(onMessage: (type: WireType, payload: Uint8Array) => void, onError: (message: string) => void) {
    super([WireType.Hello, WireType.Frame, WireType.Carrier], MAX_MESSAGE, onMessage as (type: number, payload: Uint8Array) => void, onError);
  }
}
