/**
 * The transmission phase: requests are read in order and carried out concurrently (clients
 * pipeline); each simple reply goes out when its request completes, matched by the client's
 * handle, so replies may overtake each other.
 */
import { ErrorCodes, isShadowError } from '../errors.js';
import type { ByteRangeDevice } from './byte-range-device.js';
import { ProtocolError } from './handshake.js';
import {
  Command, CommandFlag, Errno, MAX_PAYLOAD, REQUEST_HEADER_LENGTH, REQUEST_MAGIC, SIMPLE_REPLY_LENGTH,
  decodeRequest, encodeSimpleReply, type Request,
} from './protocol.js';
import type { SocketReader } from './socket-reader.js';

export interface TransmissionContext {
  reader: SocketReader;
  send(b: Buffer): void;
  io: ByteRangeDevice;
  sizeBytes: number;
  readOnly: boolean;
  /** Requests carried out at once on this connection; reading pauses beyond it. */
  maxInFlight: number;
  /** Bytes of reads and writes carried out at once on this connection; reading pauses beyond it. */
  maxInFlightBytes: number;
  /** Resolves when the replies already sent have mostly left (the socket drained or closed); undefined when they have. */
  drained(): Promise<void> | undefined;
  /** Called with every request's completion, so the server can wait for all of them on close. */
  track(work: Promise<void>): void;
  /** Called for each reply that carries an error (for statistics). */
  onError(request: Request, errno: number, cause: unknown): void;
}

const KNOWN_FLAGS = CommandFlag.FUA | CommandFlag.NO_HOLE | CommandFlag.DF | CommandFlag.REQ_ONE | CommandFlag.FAST_ZERO;

/** Maps what the device said to the errno the client sees. */
export function errnoOf(error: unknown): number {
  if (isShadowError(error)) {
    switch (error.code) {
      case ErrorCodes.OUT_OF_RANGE:
      case ErrorCodes.INVALID_ARGUMENT:
      case ErrorCodes.MISALIGNED:
        return Errno.EINVAL;
      case ErrorCodes.READ_ONLY:
        return Errno.EPERM;
      case ErrorCodes.CLOSED:
      case ErrorCodes.NOT_OPEN:
        return Errno.ESHUTDOWN;
      default: // SD_ERR_IO, SD_ERR_GAVE_UP, poison and the rest: the request did not succeed
        return Errno.EIO;
    }
  }
  return Errno.EIO;
}

/** Serves requests until the client disconnects. Throws ProtocolError or ConnectionClosed. */
export async function transmit(ctx: TransmissionContext): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let inFlightBytes = 0;
  for (;;) {
    // A client that sends reads but never reads the replies would otherwise grow the
    // socket's write queue without bound.
    const full = ctx.drained();
    if (full) await full;
    // Bytes already read off the socket are taken at once: a client that pipelines has the next
    // request waiting, and an await per header and payload was a good part of a request's cost.
    const request = decodeRequest(ctx.reader.take(REQUEST_HEADER_LENGTH) ?? await ctx.reader.read(REQUEST_HEADER_LENGTH));
    if (request.magic !== REQUEST_MAGIC) throw new ProtocolError(`bad request magic 0x${request.magic.toString(16)}`);
    let data: Buffer | undefined;
    if (request.type === Command.WRITE) {
      // The payload cannot be skipped safely past this size: the stream would lose its framing.
      if (request.length > MAX_PAYLOAD) throw new ProtocolError(`write of ${request.length} bytes exceeds ${MAX_PAYLOAD}`);
      data = ctx.reader.take(request.length) ?? await ctx.reader.read(request.length);
    }
    if (request.type === Command.DISC) {
      // The spec: finish every outstanding request, then close.
      await Promise.allSettled(inFlight);
      return;
    }
    const bytes = request.type === Command.READ || request.type === Command.WRITE ? request.length : 0;
    const work = carryOut(ctx, request, data);
    inFlight.add(work);
    inFlightBytes += bytes;
    ctx.track(work);
    void work.finally(() => {
      inFlight.delete(work);
      inFlightBytes -= bytes;
    });
    while (inFlight.size >= ctx.maxInFlight || (inFlight.size > 0 && inFlightBytes >= ctx.maxInFlightBytes)) {
      await Promise.race(inFlight);
    }
  }
}

/** One request to its reply; never rejects. */
async function carryOut(ctx: TransmissionContext, request: Request, data: Buffer | undefined): Promise<void> {
  const refused = refusal(ctx, request);
  if (refused !== undefined) {
    ctx.onError(request, refused, undefined);
    ctx.send(encodeSimpleReply(refused, request.handle));
    return;
  }
  const { offset, length } = request;
  try {
    switch (request.type) {
      case Command.READ: {
        // Header and data in one buffer: one write, and the read lands in place.
        const reply = Buffer.allocUnsafe(SIMPLE_REPLY_LENGTH + length);
        await ctx.io.read(offset, length, reply.subarray(SIMPLE_REPLY_LENGTH));
        ctx.send(encodeSimpleReply(Errno.OK, request.handle, reply));
        return;
      }
      case Command.WRITE:
        await ctx.io.write(offset, data!);
        if (request.flags & CommandFlag.FUA) await ctx.io.flush();
        break;
      case Command.WRITE_ZEROES:
        await ctx.io.zero(offset, length);
        if (request.flags & CommandFlag.FUA) await ctx.io.flush();
        break;
      case Command.TRIM:
        await ctx.io.trim(offset, length);
        if (request.flags & CommandFlag.FUA) await ctx.io.flush();
        break;
      case Command.FLUSH:
        // A read-only export has nothing to make durable, and the device would refuse.
        if (!ctx.readOnly) await ctx.io.flush();
        break;
    }
    ctx.send(encodeSimpleReply(Errno.OK, request.handle));
  } catch (error) {
    const errno = errnoOf(error);
    ctx.onError(request, errno, error);
    ctx.send(encodeSimpleReply(errno, request.handle));
  }
}

/** The errno for a request that must not reach the device, or undefined. */
function refusal(ctx: TransmissionContext, request: Request): number | undefined {
  const { type, offset, length, flags } = request;
  if ((flags & ~KNOWN_FLAGS) !== 0) return Errno.EINVAL;
  switch (type) {
    case Command.READ:
      if (length > MAX_PAYLOAD) return Errno.EINVAL;
      break;
    case Command.WRITE:
    case Command.WRITE_ZEROES:
    case Command.TRIM:
      if (ctx.readOnly) return Errno.EPERM;
      break;
    case Command.FLUSH:
      return undefined;
    default: // CACHE, BLOCK_STATUS and unknown commands: not advertised
      return Errno.EINVAL;
  }
  if (offset + length > ctx.sizeBytes) return Errno.EINVAL;
  return undefined;
}
