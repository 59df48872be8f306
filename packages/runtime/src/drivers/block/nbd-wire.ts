/**
 * The NBD wire protocol, client side (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md):
 * the fixed-newstyle handshake (NBD_OPT_GO, falling back to NBD_OPT_EXPORT_NAME) and the
 * simple request/reply framing of the transmission phase. No structured replies are
 * negotiated, so every reply is a 16-byte header, followed by the data for a successful READ.
 */
import type { Socket } from 'node:net';

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;

const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_EXPORT_NAME = 1;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const REP_ERR_UNSUP = 0x80000001;
const INFO_EXPORT = 0;
const INFO_BLOCK_SIZE = 3;

/** Transmission flags the server announces for the export. */
export const TransmissionFlags = {
  READ_ONLY: 1 << 1, SEND_FLUSH: 1 << 2, SEND_FUA: 1 << 3, SEND_TRIM: 1 << 5, SEND_WRITE_ZEROES: 1 << 6,
} as const;

export const Command = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, WRITE_ZEROES: 6 } as const;
export const CommandFlag = { FUA: 1 } as const;

/** The NBD error numbers (Linux errno values) and their names. */
const errorNames: Record<number, string> = {
  1: 'EPERM', 5: 'EIO', 12: 'ENOMEM', 22: 'EINVAL', 28: 'ENOSPC', 75: 'EOVERFLOW', 95: 'ENOTSUP', 108: 'ESHUTDOWN',
};
export const errorName = (errno: number): string => errorNames[errno] ?? 'EIO';

export interface NbdExport {
  sizeBytes: number;
  flags: number;
  /** The largest request payload the server accepts (NBD_INFO_BLOCK_SIZE), or the protocol's 32 MiB. */
  maxPayload: number;
}

/**
 * The server broke the protocol (bad magic, a reply for a request never sent): the byte
 * stream can no longer be framed, so the connection must be dropped.
 */
export class ProtocolBreach extends Error {
  override readonly name = 'ProtocolBreach';
}

/** The server refused the export (unknown name, policy): retrying the same option is pointless. */
export class ExportRefused extends Error {
  override readonly name = 'ExportRefused';
}

/** The connection is gone or never came up (refused, reset, closed, silent): worth retrying. */
export class ConnectionLost extends Error {
  override readonly name = 'ConnectionLost';
}

/** Node's system errors (ECONNREFUSED, ENOENT, ECONNRESET, EPIPE) carry a string code. */
export function isConnectionError(err: unknown): boolean {
  return err instanceof ConnectionLost || (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' &&
    (err as unknown as { code: string }).code.startsWith('E'));
}

/** Reads exact byte counts from a socket; fails every read once the socket is gone. */
export class ByteReader {
  #chunks: Buffer[] = [];
  #size = 0;
  #waiter: { n: number; resolve(b: Buffer): void; reject(e: Error): void } | undefined;
  #ended: Error | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      this.#serve();
    });
    socket.on('close', () => this.end(new ConnectionLost('the NBD server closed the connection')));
  }

  read(n: number): Promise<Buffer> {
    if (this.#waiter) return Promise.reject(new Error('ByteReader: overlapping reads'));
    return new Promise((resolve, reject) => {
      this.#waiter = { n, resolve, reject };
      this.#serve();
    });
  }

  end(reason: Error): void {
    this.#ended ??= reason;
    this.#serve();
  }

  #serve(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    if (this.#size >= waiter.n) {
      this.#waiter = undefined;
      waiter.resolve(this.#take(waiter.n));
    } else if (this.#ended) {
      this.#waiter = undefined;
      waiter.reject(this.#ended);
    }
  }

  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0); // an option reply without data
    this.#size -= n;
    const first = this.#chunks[0]!;
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) return this.#chunks.shift()!;
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}

function option(code: number, data: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeBigUInt64BE(IHAVEOPT, 0);
  head.writeUInt32BE(code, 8);
  head.writeUInt32BE(data.length, 12);
  return Buffer.concat([head, data]);
}

/** Runs the fixed-newstyle handshake and returns the export the server agreed to serve. */
export async function handshake(socket: Socket, reader: ByteReader, exportName: string): Promise<NbdExport> {
  const hello = await reader.read(18);
  if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT) {
    throw new ProtocolBreach('the server does not speak newstyle NBD');
  }
  const serverFlags = hello.readUInt16BE(16);
  if ((serverFlags & FLAG_FIXED_NEWSTYLE) === 0) throw new ProtocolBreach('the server is not fixed-newstyle');
  const noZeroes = (serverFlags & FLAG_NO_ZEROES) !== 0;
  const clientFlags = Buffer.alloc(4);
  clientFlags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (noZeroes ? FLAG_NO_ZEROES : 0));
  const name = Buffer.from(exportName, 'utf8');
  const go = Buffer.alloc(4 + name.length + 4);
  go.writeUInt32BE(name.length, 0);
  name.copy(go, 4);
  go.writeUInt16BE(1, 4 + name.length);
  go.writeUInt16BE(INFO_BLOCK_SIZE, 6 + name.length);
  socket.write(Buffer.concat([clientFlags, option(OPT_GO, go)]));
  return (await optionGo(reader)) ?? exportNameFallback(socket, reader, name, noZeroes);
}

/** Reads NBD_OPT_GO's replies; undefined when the server does not know the option. */
async function optionGo(reader: ByteReader): Promise<NbdExport | undefined> {
  const found: NbdExport = { sizeBytes: -1, flags: 0, maxPayload: 32 * 1024 * 1024 };
  for (;;) {
    const head = await reader.read(20);
    if (head.readBigUInt64BE(0) !== OPTION_REPLY_MAGIC || head.readUInt32BE(8) !== OPT_GO) {
      throw new ProtocolBreach('bad option reply header');
    }
    const type = head.readUInt32BE(12);
    const data = await reader.read(head.readUInt32BE(16));
    if (type === REP_ACK) {
      if (found.sizeBytes < 0) throw new ProtocolBreach('NBD_OPT_GO acknowledged without NBD_INFO_EXPORT');
      return found;
    }
    if (type === REP_ERR_UNSUP) return undefined;
    if (type & 0x80000000) {
      throw new ExportRefused(`the server refused the export (reply 0x${type.toString(16)}): ${data.toString('utf8')}`);
    }
    if (type !== REP_INFO || data.length < 2) continue; // unknown replies are skipped, as the protocol says
    const info = data.readUInt16BE(0);
    if (info === INFO_EXPORT && data.length >= 12) {
      found.sizeBytes = Number(data.readBigUInt64BE(2));
      found.flags = data.readUInt16BE(10);
    } else if (info === INFO_BLOCK_SIZE && data.length >= 14) {
      found.maxPayload = data.readUInt32BE(10);
    }
  }
}

async function exportNameFallback(socket: Socket, reader: ByteReader, name: Buffer, noZeroes: boolean): Promise<NbdExport> {
  socket.write(option(OPT_EXPORT_NAME, name));
  // The server answers with size and flags, or closes the connection if it has no such export.
  const reply = await reader.read(noZeroes ? 10 : 134);
  return { sizeBytes: Number(reply.readBigUInt64BE(0)), flags: reply.readUInt16BE(8), maxPayload: 32 * 1024 * 1024 };
}

/** A transmission-phase request header (28 bytes). */
export function requestHeader(type: number, flags: number, handle: bigint, offset: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(28);
  head.writeUInt32BE(REQUEST_MAGIC, 0);
  head.writeUInt16BE(flags, 4);
  head.writeUInt16BE(type, 6);
  head.writeBigUInt64BE(handle, 8);
  head.writeBigUInt64BE(BigInt(offset), 16);
  head.writeUInt32BE(length, 24);
  return head;
}

/** Parses a simple reply header: the request's handle and the server's error number. */
export function parseReply(head: Buffer): { handle: bigint; errno: number } {
  if (head.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw new ProtocolBreach(`bad reply magic 0x${head.readUInt32BE(0).toString(16)}`);
  return { errno: head.readUInt32BE(4), handle: head.readBigUInt64BE(8) };
}
