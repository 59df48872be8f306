/**
 * Larger socket buffers for NBD connections. A read reply is up to 32 MiB and nbdcopy asks
 * 256 KiB at a time, 64 deep; with the default send buffer (~208 KiB) each reply leaves in
 * pieces, one writable event at a time, and the server idles between them. The buffer is
 * forced past net.core.wmem_max where the service may (CAP_NET_ADMIN), else set as far as the
 * limit allows. Best effort: a socket whose buffers cannot be set works as before.
 */
import type net from 'node:net';
import { SOL_SOCKET, setSocketOption } from '../kernel/os/socket-options.js';

const SO_SNDBUF = 7;
const SO_SNDBUFFORCE = 32;
/** What the server asks: 16 replies of nbdcopy's 256 KiB in flight. */
export const SEND_BUFFER_BYTES = 4 * 1024 * 1024;

/** Enlarges the socket's send buffer; false where it could not (then it keeps the default). */
export function enlargeSendBuffer(socket: net.Socket, bytes = SEND_BUFFER_BYTES): boolean {
  return setSocketOption(socket, SOL_SOCKET, SO_SNDBUFFORCE, bytes) || setSocketOption(socket, SOL_SOCKET, SO_SNDBUF, bytes);
}
