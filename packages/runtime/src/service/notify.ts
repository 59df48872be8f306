/**
 * systemd's notify protocol (Type=notify): READY=1 once every device serves, WATCHDOG=1 while
 * the event loop is healthy, STOPPING=1 at shutdown, each a datagram to $NOTIFY_SOCKET. Node
 * has no unix datagram sockets, so the datagram is sent with socket(2)/sendto(2) through
 * koffi (in-process: no `systemd-notify` child, whose messages systemd may attribute to the
 * wrong process unless NotifyAccess=all). Without $NOTIFY_SOCKET every call does nothing.
 */
import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, data: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  close(fd: number): number;
}
let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as Libc['socket'],
    sendto: lib.func('long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, unsigned int addrlen)') as Libc['sendto'],
    close: lib.func('int close(int fd)') as Libc['close'],
  };
  return libc;
}

/** sockaddr_un for a path, or for an abstract name (`@name`, as systemd may give it). */
function address(path: string): { addr: Buffer; len: number } {
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path);
  if (name.length > 107) throw new Error('NOTIFY_SOCKET is longer than a unix socket path may be');
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  return { addr, len: 2 + name.length + (path.startsWith('@') ? 0 : 1) };
}

/** Sends one notify message; true when it was sent. */
export function notify(message: string, socketPath = process.env.NOTIFY_SOCKET): boolean {
  if (!socketPath) return false;
  const c = load();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const { addr, len } = address(socketPath);
    const data = Buffer.from(message);
    return c.sendto(fd, data, data.length, 0, addr, len) === data.length;
  } finally {
    c.close(fd);
  }
}

/** WATCHDOG=1 at half of $WATCHDOG_USEC while the event loop turns; returns the stop. */
export function startWatchdog(healthy: () => boolean): () => void {
  const usec = Number(process.env.WATCHDOG_USEC);
  if (!process.env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0) return () => undefined;
  if (process.env.WATCHDOG_PID && Number(process.env.WATCHDOG_PID) !== process.pid) return () => undefined;
  const timer = setInterval(() => { if (healthy()) notify('WATCHDOG=1'); }, Math.max(1, Math.floor(usec / 2000)));
  timer.unref();
  return () => clearInterval(timer);
}
