/**
 * Messages over a stream socket between a virtual device's hardware (in the kernel) and its
 * driver: a type byte, a 32-bit big-endian length, the payload. The reader refuses unknown
 * types and oversized messages instead of half-parsing them.
 */
export function frameMessage(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = type;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

export const jsonMessage = (type: number, value: unknown): Buffer => frameMessage(type, Buffer.from(JSON.stringify(value)));

export const parseJson = <T>(payload: Uint8Array): T => JSON.parse(Buffer.from(payload).toString('utf8')) as T;

export class MessageReader {
  #pending: Buffer = Buffer.alloc(0);
  readonly #types: ReadonlySet<number>;
  readonly #max: number;
  readonly #onMessage: (type: number, payload: Uint8Array) => void;
  readonly #onError: (message: string) => void;

  constructor(types: Iterable<number>, maxPayload: number,
    onMessage: (type: number, payload: Uint8Array) => void, onError: (message: string) => void) {
    this.#types = new Set(types);
    this.#max = maxPayload;
    this.#onMessage = onMessage;
    this.#onError = onError;
  }

  push(chunk: Buffer): void {
    let buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (buf.length >= 5) {
      const type = buf[0]!;
      const length = buf.readUInt32BE(1);
      if (!this.#types.has(type) || length > this.#max) {
        this.#pending = Buffer.alloc(0);
        this.#onError(`malformed message (type ${type}, length ${length})`);
        return;
      }
      if (buf.length < 5 + length) break;
      try {
        this.#onMessage(type, Uint8Array.prototype.slice.call(buf, 5, 5 + length));
      } catch (err) {
        // A message its receiver could not take (bad JSON, fields of the wrong type): on the
        // kernel's side that is the driver's fault, never the kernel's; the connection ends.
        this.#pending = Buffer.alloc(0);
        this.#onError(`message of type ${type} refused: ${(err as Error)?.message ?? String(err)}`);
        return;
      }
      buf = buf.subarray(5 + length);
    }
    this.#pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
