/**
 * Who is at the other end of a unix socket: SO_PEERCRED, read with getsockopt through koffi
 * (Node has no API for it). The kernel fills it in at connect, so a client cannot lie about
 * its uid; the control socket refuses every peer whose uid is not the service's owner's.
 */
import type net from 'node:net';
import koffi from 'koffi';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, len: Buffer) => number;
let getsockopt: GetSockOpt | undefined;

function load(): GetSockOpt {
  getsockopt ??= koffi.load('libc.so.6').func('int getsockopt(int fd, int level, int name, void *value, void *len)') as GetSockOpt;
  return getsockopt;
}

export interface PeerCredentials { pid: number; uid: number; gid: number }

/** The peer's credentials, or undefined when they cannot be read (then the peer is refused). */
export function peerCredentials(socket: net.Socket): PeerCredentials | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const value = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12);
  if (load()(fd, SOL_SOCKET, SO_PEERCRED, value, len) !== 0) return undefined;
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}
