/**
 * AF_PACKET raw sockets on an existing interface (a veth end, a physical NIC), opened by the
 * kernel (never by a driver) through koffi. The socket is created listening to no protocol,
 * so nothing queues on it before it is bound to the one interface with ETH_P_ALL; it ignores
 * its own transmissions (PACKET_IGNORE_OUTGOING), so a switch port never reads back what it
 * sent; and it holds the interface in promiscuous mode (a packet membership, released when
 * the socket closes), as a switch port must see every frame. The kernel holds the descriptor
 * for the device's whole life; drivers borrow it.
 */
import { closeSync, readFileSync } from 'node:fs';
import koffi from 'koffi';

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL = 0x0003;
const SOL_PACKET = 263;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_MR_PROMISC = 1;
const PACKET_IGNORE_OUTGOING = 23;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as Libc['socket'],
    bind: lib.func('int bind(int fd, const void *addr, unsigned int len)') as Libc['bind'],
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, unsigned int len)') as Libc['setsockopt'],
  };
  return libc;
}

/** What the kernel learns of the interface when it opens it. */
export interface PacketLink {
  fd: number;
  ifindex: number;
  /** The interface's hardware address when it was opened: the NIC's permanent address. */
  address: string;
  mtu: number;
}

/** Opens a non-blocking packet socket bound to the interface `name`. */
export function openPacket(name: string): PacketLink {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`${JSON.stringify(name)} is not a valid interface name`);
  const sys = (what: string) => {
    try {
      return readFileSync(`/sys/class/net/${name}/${what}`, 'utf8').trim();
    } catch {
      throw new Error(`no network interface ${name}`);
    }
  };
  const ifindex = Number(sys('ifindex'));
  const address = sys('address');
  const mtu = Number(sys('mtu'));
  const c = load();
  const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(AF_PACKET) failed (errno ${koffi.errno()}); it needs CAP_NET_RAW`);
  try {
    const one = Buffer.alloc(4);
    one.writeInt32LE(1);
    if (c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4) !== 0) {
      throw new Error(`PACKET_IGNORE_OUTGOING failed (errno ${koffi.errno()})`);
    }
    // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
    const sll = Buffer.alloc(20);
    sll.writeUInt16LE(AF_PACKET, 0);
    sll.writeUInt16BE(ETH_P_ALL, 2);
    sll.writeInt32LE(ifindex, 4);
    if (c.bind(fd, sll, sll.length) !== 0) throw new Error(`bind to ${name} failed (errno ${koffi.errno()})`);
    // struct packet_mreq: ifindex, type, alen, address[8].
    const mreq = Buffer.alloc(16);
    mreq.writeInt32LE(ifindex, 0);
    mreq.writeUInt16LE(PACKET_MR_PROMISC, 4);
    if (c.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq, mreq.length) !== 0) {
      throw new Error(`promiscuous mode on ${name} failed (errno ${koffi.errno()})`);
    }
    return { fd, ifindex, address, mtu };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
