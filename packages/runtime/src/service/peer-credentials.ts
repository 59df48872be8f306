/**
 * Who is at the other end of a unix socket: SO_PEERCRED, read with getsockopt (Node has no API
 * for it). The kernel fills it in at connect, so a client cannot lie about its uid; the control
 * socket refuses every peer whose uid is not the service's owner's.
 */
import type net from 'node:net';
import { SOL_SOCKET, getSocketOption } from '../kernel/os/socket-options.js';

const SO_PEERCRED = 17;

export interface PeerCredentials { pid: number; uid: number; gid: number }

/** The peer's credentials, or undefined when they cannot be read (then the peer is refused). */
export function peerCredentials(socket: net.Socket): PeerCredentials | undefined {
  const value = getSocketOption(socket, SOL_SOCKET, SO_PEERCRED, 12);
  if (!value) return undefined;
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}
