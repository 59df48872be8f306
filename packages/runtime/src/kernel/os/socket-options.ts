/**
 * Socket options Node has no API for (SO_PEERCRED, SO_SNDBUF on a stream socket), through
 * getsockopt and setsockopt bound with koffi, on the descriptor of a connected net.Socket.
 */
import type net from 'node:net';
import koffi from 'koffi';

export const SOL_SOCKET = 1;

type SockOpt = (fd: number, level: number, name: number, value: Buffer, len: Buffer | number) => number;
let bound: { get: SockOpt; set: SockOpt } | null | undefined;

function libc(): { get: SockOpt; set: SockOpt } | null {
  if (bound === undefined) {
    try {
      const lib = koffi.load('libc.so.6');
      bound = {
        get: lib.func('int getsockopt(int fd, int level, int name, void *value, void *len)') as SockOpt,
        set: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)') as SockOpt,
      };
    } catch {
      bound = null;
    }
  }
  return bound;
}

/** The socket's descriptor, or undefined (not connected, or already closed). */
function descriptor(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** The option's value (`bytes` long), or undefined where it cannot be read. */
export function getSocketOption(socket: net.Socket, level: number, name: number, bytes: number): Buffer | undefined {
  const fd = descriptor(socket);
  const call = libc();
  if (fd === undefined || !call) return undefined;
  const value = Buffer.alloc(bytes);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes);
  return call.get(fd, level, name, value, len) === 0 ? value : undefined;
}

/** Sets an int option; false where it could not. */
export function setSocketOption(socket: net.Socket, level: number, name: number, value: number): boolean {
  const fd = descriptor(socket);
  const call = libc();
  if (fd === undefined || !call) return false;
  const bytes = Buffer.alloc(4);
  bytes.writeInt32LE(value);
  return call.set(fd, level, name, bytes, 4) === 0;
}
