/**
 * The fixed newstyle handshake: greeting, client flags, then options until the client picks
 * an export (NBD_OPT_EXPORT_NAME or NBD_OPT_GO) or leaves (NBD_OPT_ABORT).
 */
import type { BlockInfo } from '../classes/block/contract.js';
import {
  ClientFlag, IHAVEOPT, Info, MAX_OPTION_LENGTH, MAX_PAYLOAD, Option, Reply, TransmissionFlag,
  decodeInfoRequest, decodeOptionHeader, encodeExportNameReply, encodeGreeting, encodeInfoBlockSize,
  encodeInfoExport, encodeInfoText, encodeOptionReply, encodeServerEntry,
} from './protocol.js';
import type { SocketReader } from './socket-reader.js';

/** The client broke the protocol; the connection is closed (the server carries on). */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** What the handshake needs to know about one export. */
export interface ExportView {
  name: string;
  description: string | undefined;
  /** The device's geometry (throws when the device cannot answer, e.g. it gave up). */
  geometry(): Promise<BlockInfo>;
  /** Exported read-only although the device is writable. */
  readOnly: boolean;
  /** Why the export refuses new clients now (e.g. its driver gave up), or undefined. */
  unavailable?: () => string | undefined;
}

/** The refusal a client is told when the export exists but cannot serve (never "no such export"). */
function refusal(chosen: ExportView, error?: unknown): string {
  return chosen.unavailable?.() ?? `export "${chosen.name}" is not available: ${(error as Error | undefined)?.message ?? 'no geometry'}`;
}

export interface Negotiated {
  export: ExportView;
  info: BlockInfo;
  readOnly: boolean;
}

export interface HandshakeContext {
  reader: SocketReader;
  send(b: Buffer): void;
  lookup(name: string): ExportView | undefined;
  names(): string[];
}

const KNOWN_CLIENT_FLAGS = ClientFlag.FIXED_NEWSTYLE | ClientFlag.NO_ZEROES;

export function transmissionFlags(readOnly: boolean): number {
  // CAN_MULTI_CONN is true here: every reply follows the device's completion, and a flush goes
  // to the one shared device, so it covers writes completed on any connection.
  const base = TransmissionFlag.HAS_FLAGS | TransmissionFlag.SEND_FLUSH | TransmissionFlag.CAN_MULTI_CONN;
  return readOnly ? base | TransmissionFlag.READ_ONLY : base | TransmissionFlag.SEND_TRIM | TransmissionFlag.SEND_WRITE_ZEROES;
}

/** Runs the handshake; undefined when the client aborted. Throws ProtocolError or ConnectionClosed. */
export async function handshake(ctx: HandshakeContext): Promise<Negotiated | undefined> {
  ctx.send(encodeGreeting());
  const clientFlags = (await ctx.reader.read(4)).readUInt32BE(0);
  // The spec: a server that does not recognise a client flag must close the connection.
  if ((clientFlags & ~KNOWN_CLIENT_FLAGS) !== 0) throw new ProtocolError(`unknown client flags 0x${clientFlags.toString(16)}`);
  if ((clientFlags & ClientFlag.FIXED_NEWSTYLE) === 0) throw new ProtocolError('the client does not speak fixed newstyle');
  const noZeroes = (clientFlags & ClientFlag.NO_ZEROES) !== 0;
  for (;;) {
    const header = decodeOptionHeader(await ctx.reader.read(16));
    if (header.magic !== IHAVEOPT) throw new ProtocolError('bad option magic');
    // A huge option length is either garbage or a memory attack; nothing legitimate is that long.
    if (header.length > MAX_OPTION_LENGTH) throw new ProtocolError(`option length ${header.length} is too large`);
    const data = header.length > 0 ? await ctx.reader.read(header.length) : Buffer.alloc(0);
    const reply = (type: number, payload?: Buffer) => ctx.send(encodeOptionReply(header.option, type, payload));
    switch (header.option) {
      case Option.EXPORT_NAME: {
        const chosen = ctx.lookup(data.toString('utf8'));
        // No way to report an error to this option: the spec says to close the connection.
        if (!chosen) throw new ProtocolError(`unknown export "${data.toString('utf8')}"`);
        const why = chosen.unavailable?.();
        const info = why === undefined ? await chosen.geometry().catch(() => undefined) : undefined;
        if (!info) throw new ProtocolError(refusal(chosen));
        const readOnly = chosen.readOnly || info.readOnly;
        ctx.send(encodeExportNameReply(info.sizeBytes, transmissionFlags(readOnly), noZeroes));
        return { export: chosen, info, readOnly };
      }
      case Option.ABORT:
        reply(Reply.ACK);
        return undefined;
      case Option.LIST:
        if (data.length !== 0) {
          reply(Reply.ERR_INVALID, Buffer.from('NBD_OPT_LIST takes no data'));
          break;
        }
        for (const name of ctx.names()) reply(Reply.SERVER, encodeServerEntry(name));
        reply(Reply.ACK);
        break;
      case Option.INFO:
      case Option.GO: {
        const negotiated = await infoOrGo(data, ctx, reply);
        if (negotiated && header.option === Option.GO) return negotiated;
        break;
      }
      default:
        reply(Reply.ERR_UNSUP, Buffer.from(`option ${header.option} is not supported`));
    }
  }
}

async function infoOrGo(data: Buffer, ctx: HandshakeContext, reply: (type: number, payload?: Buffer) => void): Promise<Negotiated | undefined> {
  const request = decodeInfoRequest(data);
  if (!request) {
    reply(Reply.ERR_INVALID, Buffer.from('malformed NBD_OPT_INFO/GO request'));
    return undefined;
  }
  const chosen = ctx.lookup(request.name);
  if (!chosen) {
    reply(Reply.ERR_UNKNOWN, Buffer.from(`unknown export "${request.name}"`));
    return undefined;
  }
  // The export exists but cannot serve: ERR_SHUTDOWN, not ERR_UNKNOWN, which clients print as
  // "no export named ..." and send the operator looking for a typo.
  const why = chosen.unavailable?.();
  if (why !== undefined) {
    reply(Reply.ERR_SHUTDOWN, Buffer.from(why));
    return undefined;
  }
  let info: BlockInfo;
  try {
    info = await chosen.geometry();
  } catch (e) {
    reply(Reply.ERR_SHUTDOWN, Buffer.from(refusal(chosen, e)));
    return undefined;
  }
  const readOnly = chosen.readOnly || info.readOnly;
  reply(Reply.INFO, encodeInfoExport(info.sizeBytes, transmissionFlags(readOnly)));
  // Minimum 1: the server takes any byte range (read-modify-write at the edges).
  reply(Reply.INFO, encodeInfoBlockSize(1, info.blockSize, MAX_PAYLOAD));
  if (request.requests.includes(Info.NAME)) reply(Reply.INFO, encodeInfoText(Info.NAME, chosen.name));
  if (request.requests.includes(Info.DESCRIPTION) && chosen.description !== undefined) {
    reply(Reply.INFO, encodeInfoText(Info.DESCRIPTION, chosen.description));
  }
  reply(Reply.ACK);
  return { export: chosen, info, readOnly };
}
