/**
 * Linux TAP interfaces, opened by the kernel (never by a driver): `/dev/net/tun` plus the
 * TUNSETIFF ioctl, through koffi. The kernel holds the descriptor for the device's whole
 * life, so the interface, its addresses and its routes survive every driver restart (a
 * non-persistent TAP disappears when its last descriptor closes).
 */
import { closeSync, constants, openSync } from 'node:fs';
import koffi from 'koffi';

const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;

type Ioctl = (fd: number, request: number, arg: Buffer) => number;
let ioctl: Ioctl | undefined;

function libcIoctl(): Ioctl {
  ioctl ??= koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request, void *arg)') as unknown as Ioctl;
  return ioctl;
}

/** Opens (creating it if needed) the TAP interface `name`; returns its non-blocking descriptor. */
export function openTap(name: string): number {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`TAP name ${JSON.stringify(name)} is not a valid interface name`);
  const fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
  try {
    const ifr = Buffer.alloc(40);
    ifr.write(name, 0, IFNAMSIZ - 1, 'ascii');
    ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI, IFNAMSIZ);
    if (libcIoctl()(fd, TUNSETIFF, ifr) !== 0) throw new Error(`TUNSETIFF ${name} failed (${koffi.errno()})`);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
