/**
 * Exact-length reads from a stream socket, with backpressure: the socket is paused while more
 * than `highWaterBytes` wait unread, so a client that pipelines faster than the device
 * answers cannot grow the server's memory without bound.
 */
import type { Socket } from 'node:net';

/** The peer closed (or the socket failed) before the bytes a read waited for arrived. */
export class ConnectionClosed extends Error {
  constructor(message = 'the connection closed', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionClosed';
  }
}

interface Waiter {
  length: number;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

export class SocketReader {
  readonly #socket: Socket;
  readonly #highWaterBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #waiter: Waiter | undefined;
  #closed: ConnectionClosed | undefined;

  constructor(socket: Socket, highWaterBytes = 4 * 1024 * 1024) {
    this.#socket = socket;
    this.#highWaterBytes = highWaterBytes;
    socket.on('data', (chunk: Buffer) => this.#push(chunk));
    socket.on('end', () => this.#close(new ConnectionClosed('the client ended the connection')));
    socket.on('close', () => this.#close(new ConnectionClosed()));
    socket.on('error', (e) => this.#close(new ConnectionClosed(`the connection failed: ${e.message}`, { cause: e })));
  }

  /** Exactly `length` bytes if they are already here (no wait), else undefined. */
  take(length: number): Buffer | undefined {
    return !this.#waiter && this.#buffered >= length ? this.#take(length) : undefined;
  }

  /** Resolves with exactly `length` bytes; rejects with ConnectionClosed if they never come. */
  read(length: number): Promise<Buffer> {
    if (this.#waiter) return Promise.reject(new Error('SocketReader: one read at a time'));
    if (this.#buffered >= length) return Promise.resolve(this.#take(length));
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#waiter = { length, resolve, reject };
      this.#socket.resume();
    });
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const waiter = this.#waiter;
    if (waiter && this.#buffered >= waiter.length) {
      this.#waiter = undefined;
      waiter.resolve(this.#take(waiter.length));
    }
    // A waiter for a large payload must keep the data coming even past the high-water mark.
    const needed = this.#waiter ? this.#waiter.length : 0;
    if (this.#buffered >= Math.max(this.#highWaterBytes, needed)) this.#socket.pause();
  }

  #take(length: number): Buffer {
    let out: Buffer;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= length) {
      out = first.subarray(0, length);
      if (first.length === length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(length);
    } else {
      out = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const chunk = this.#chunks[0]!;
        const n = Math.min(chunk.length, length - filled);
        chunk.copy(out, filled, 0, n);
        filled += n;
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
      }
    }
    this.#buffered -= length;
    if (this.#buffered < this.#highWaterBytes && !this.#closed) this.#socket.resume();
    return out;
  }

  #close(reason: ConnectionClosed): void {
    this.#closed ??= reason;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#closed);
  }
}
