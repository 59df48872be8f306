/**
 * The process domain's wire: each batch one frame, a 4-byte big-endian length and the batch
 * v8-serialized (what Node's "advanced" IPC serialization does), over plain sockets: from the
 * kernel on the driver's descriptor 0, to it on descriptor 3. Not Node's own IPC channel,
 * which a driver could use to end the host: a message whose `cmd` starts with NODE_ goes to
 * Node's handle-passing protocol, never to the kernel, where `{ cmd: 'NODE_HANDLE_ACK' }` trips an internal assertion; and bytes that are
 * not a message (a driver writing its channel's descriptor itself) throw out of the
 * channel's read callback, uncaught. Here every frame is cut and deserialized inside a try:
 * anything wrong is a problem of that driver, and what decodes goes to decode.ts like any batch.
 */
import type { Writable } from 'node:stream';
import { DefaultSerializer, deserialize } from 'node:v8';

/** The largest frame: a batch of 8 replies of the largest request (16 MiB), with room. */
export const MAX_FRAME = 256 * 1024 * 1024;
const LENGTH_ROOM = Buffer.alloc(4);

/** One value as a frame, in one buffer: the length is written into room kept before the body. */
export function encodeFrame(value: unknown): Buffer {
  const serializer = new DefaultSerializer();
  serializer.writeRawBytes(LENGTH_ROOM);
  serializer.writeHeader();
  serializer.writeValue(value);
  const frame = serializer.releaseBuffer();
  frame.writeUInt32BE(frame.length - 4, 0);
  return frame;
}

/** Writes one frame; `written` once the socket took all of it. Throws what serialize throws. */
export function writeFrame(stream: Writable, value: unknown, written?: (err?: Error | null) => void): void {
  stream.write(encodeFrame(value), written);
}

export interface Frames {
  values: unknown[];
  /** Set once the stream held something that is not a frame: nothing after it can be read. */
  problem?: string;
}

/** Cuts a byte stream into frames and deserializes them. Never throws. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #have = 0;
  #need: number | undefined;
  #broken = false;

  push(chunk: Buffer): Frames {
    const values: unknown[] = [];
    if (this.#broken) return { values };
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    for (;;) {
      if (this.#need === undefined) {
        if (this.#have < 4) break;
        const length = this.#take(4).readUInt32BE(0);
        if (length > MAX_FRAME) return this.#break(values, `a frame of ${length} bytes (at most ${MAX_FRAME})`);
        this.#need = length;
      }
      if (this.#have < this.#need) break;
      const body = this.#take(this.#need);
      this.#need = undefined;
      try {
        values.push(deserialize(body));
      } catch (err) {
        return this.#break(values, `bytes that are not a serialized message (${String((err as Error)?.message).slice(0, 200)})`);
      }
    }
    return { values };
  }

  #break(values: unknown[], problem: string): Frames {
    this.#broken = true;
    this.#chunks = [];
    this.#have = 0;
    return { values, problem };
  }

  /** The next `n` buffered bytes (copied only when they span chunks). */
  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.#have -= n;
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let at = 0; at < n;) {
      const chunk = this.#chunks[0]!;
      const k = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, k);
      at += k;
      if (k === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(k);
    }
    return out;
  }
}
