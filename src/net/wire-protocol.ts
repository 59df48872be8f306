/**
 * How a virtual NIC's hardware and its driver talk over a stream socket (the way QEMU's
 * stream netdev carries frames): each message is a type byte, a 32-bit big-endian length and
 * the payload. The hardware greets each driver that attaches with its permanent address,
 * maximum MTU and carrier; frames go both ways; carrier changes come from the hardware.
 */
export const enum WireType { Hello = 1, Frame = 2, Carrier = 3 }

export interface Hello { permanentMac: string; maxMtu: number; carrier: boolean }

/** The largest payload either side accepts: a jumbo frame plus its header. */
export const MAX_MESSAGE = 9014;

export function encode(type: WireType, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = type;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

export const encodeHello = (hello: Hello): Buffer => encode(WireType.Hello, Buffer.from(JSON.stringify(hello)));
export const encodeCarrier = (carrier: boolean): Buffer => encode(WireType.Carrier, Uint8Array.of(carrier ? 1 : 0));

/** Splits a byte stream into messages; a malformed stream is reported, never half-parsed. */
export class WireReader {
  #pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onMessage: (type: WireType, payload: Uint8Array) => void,
    private readonly onError: (message: string) => void) {}

  push(chunk: Buffer): void {
    let buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buf.length >= 5) {
      const type = buf[0]!;
      const length = buf.readUInt32BE(1);
      if (type < WireType.Hello || type > WireType.Carrier || length > MAX_MESSAGE) {
        this.#pending = Buffer.alloc(0);
        this.onError(`malformed message (type ${type}, length ${length})`);
        return;
      }
      if (buf.length < 5 + length) break;
      // A copy: the frame outlives the chunk it arrived in.
      this.onMessage(type as WireType, Uint8Array.prototype.slice.call(buf, 5, 5 + length));
      buf = buf.subarray(5 + length);
    }
    this.#pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
