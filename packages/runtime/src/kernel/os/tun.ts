/**
 * Linux TAP interfaces, opened by the kernel (never by a driver): `/dev/net/tun` plus the
 * TUNSETIFF ioctl, through koffi. The kernel holds the descriptor for the device's whole
 * life, so the interface, its addresses and its routes survive every driver restart (a
 * non-persistent TAP disappears when its last descriptor closes).
 */
import { closeSync, constants, openSync } from 'node:fs';
import koffi from 'koffi';

const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const TUNSETVNETHDRSZ = 0x400454d8;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const IFNAMSIZ = 16;
/** What the reader takes: checksums left to complete, TCP GSO frames over IPv4 and IPv6. */
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
/** The virtio-net header without num_buffers (struct virtio_net_hdr). */
export const TAP_VNET_HDR_LEN = 10;

interface Ioctls {
  ptr(fd: number, request: number, arg: Buffer): number;
  value(fd: number, request: number, arg: number): number;
}
let ioctls: Ioctls | undefined;

function libcIoctl(): Ioctls {
  if (ioctls) return ioctls;
  const lib = koffi.load('libc.so.6');
  ioctls = {
    ptr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as unknown as Ioctls['ptr'],
    value: lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as unknown as Ioctls['value'],
  };
  return ioctls;
}

export interface TapOptions {
  /**
   * Frames carry a virtio-net header (IFF_VNET_HDR) and the interface is told the reader takes
   * checksum and TCP segmentation offloads (TUNSETOFFLOAD), so a 64 KiB TCP segment crosses
   * as one frame instead of ~45.
   */
  offloads?: boolean;
}

/** Opens (creating it if needed) the TAP interface `name`; returns its non-blocking descriptor. */
export function openTap(name: string, options: TapOptions = {}): number {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`TAP name ${JSON.stringify(name)} is not a valid interface name`);
  const fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
  try {
    const ifr = Buffer.alloc(40);
    ifr.write(name, 0, IFNAMSIZ - 1, 'ascii');
    ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI | (options.offloads ? IFF_VNET_HDR : 0), IFNAMSIZ);
    const io = libcIoctl();
    if (io.ptr(fd, TUNSETIFF, ifr) !== 0) throw new Error(`TUNSETIFF ${name} failed (${koffi.errno()})`);
    if (options.offloads) {
      const size = Buffer.alloc(4);
      size.writeInt32LE(TAP_VNET_HDR_LEN);
      if (io.ptr(fd, TUNSETVNETHDRSZ, size) !== 0) throw new Error(`TUNSETVNETHDRSZ ${name} failed (${koffi.errno()})`);
      if (io.value(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) !== 0) throw new Error(`TUNSETOFFLOAD ${name} failed (${koffi.errno()})`);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
