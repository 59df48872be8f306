/**
 * Larger socket buffers for NBD connections. A read reply is up to 32 MiB and nbdcopy asks
 * 256 KiB at a time, 64 deep; with the default send buffer (~208 KiB) each reply leaves in
 * pieces, one writable event at a time, and the server idles between them. Node has no API
 * for SO_SNDBUF on a stream socket, so it is set with setsockopt through koffi, forced past
 * net.core.wmem_max where the service may (CAP_NET_ADMIN), else as far as the limit allows.
 * Best effort: a socket whose buffers cannot be set works as before.
 */
import type net from 'node:net';
import koffi from 'koffi';

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_SNDBUFFORCE = 32;
/** What the server asks: 16 replies of nbdcopy's 256 KiB in flight. */
export const SEND_BUFFER_BYTES = 4 * 1024 * 1024;

type SetSockOpt = (fd: number, level: number, name: number, value: Buffer, len: number) => number;
let setsockopt: SetSockOpt | null | undefined;

function load(): SetSockOpt | null {
  if (setsockopt === undefined) {
    try {
      setsockopt = koffi.load('libc.so.6').func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)') as SetSockOpt;
    } catch {
      setsockopt = null;
    }
  }
  return setsockopt;
}

/** Enlarges the socket's send buffer; false where it could not (then it keeps the default). */
export function enlargeSendBuffer(socket: net.Socket, bytes = SEND_BUFFER_BYTES): boolean {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const call = load();
  if (typeof fd !== 'number' || fd < 0 || !call) return false;
  const value = Buffer.alloc(4);
  value.writeInt32LE(bytes);
  return call(fd, SOL_SOCKET, SO_SNDBUFFORCE, value, 4) === 0 || call(fd, SOL_SOCKET, SO_SNDBUF, value, 4) === 0;
}
