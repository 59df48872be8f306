/**
 * A NIC's hardware reached through a descriptor the kernel lends (a TAP, a packet socket):
 * each read() is one frame, each write() sends one. System calls go through koffi; waiting
 * for frames is a poll() on libuv's thread pool with a bounded timeout, so the driver's event
 * loop stays free to answer the kernel, and a stopped driver leaves no thread behind for long.
 */
import koffi from 'koffi';
import { MAX_GSO_FRAME, readVnetHeader, VNET_HDR_LEN, writeVnetHeader, type Offload } from '../../classes/net/offload.js';
import { copyBytes } from '../../driver/bytes.js';
import type { Port, PortEvents } from './nic-core.js';

const POLLIN = 0x1;
const EIO = 5;
const EAGAIN = 11;
const EMSGSIZE = 90;
const ENETDOWN = 100;
const ENOBUFS = 105;
const EBADFD = 77;
/**
 * What an interface answers when it refuses frames, not because the driver broke: its queue
 * is full, it was set down (ENETDOWN from a packet socket, which also reports it once to its
 * reader; EIO from a TAP, whose far side, the host's interface, is down; EBADFD from a TAP whose
 * interface is gone), a frame is above its MTU. The frames are dropped and counted, as hardware would.
 */
const REFUSED = new Set([EIO, EAGAIN, EMSGSIZE, ENETDOWN, ENOBUFS, EBADFD]);
const POLL_MS = 100;
/** Room for the largest frame a TAP with offloads hands over (a GSO frame) and its header. */
const MAX_READ = MAX_GSO_FRAME + VNET_HDR_LEN;
/** Frames read per poll wake-up, at most, before the loop yields to the event loop. */
const READS_PER_WAKEUP = 256;

interface Libc {
  read(fd: number, buf: Buffer, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  poll: { async(fds: Buffer, nfds: number, timeout: number, cb: (err: unknown, n: number) => void): void };
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    read: lib.func('long read(int fd, _Out_ void *buf, unsigned long count)') as Libc['read'],
    write: lib.func('long write(int fd, const void *buf, unsigned long count)') as Libc['write'],
    poll: lib.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)') as unknown as Libc['poll'],
  };
  return libc;
}

export interface FdPortOptions {
  fd: number;
  permanentMac: string;
  maxMtu: number;
  /** Each frame read and written is preceded by a virtio-net header (a TAP with IFF_VNET_HDR). */
  vnetHeader?: boolean;
}

export function fdPort(options: FdPortOptions): Port {
  const c = load();
  const { fd } = options;
  const vnet = options.vnetHeader === true;
  const skip = vnet ? VNET_HDR_LEN : 0;
  const buffer = Buffer.alloc(MAX_READ);
  // Header and frame go out in one write(): one copy into this buffer, no allocation.
  const out = vnet ? Buffer.alloc(MAX_READ) : undefined;
  const pollfd = Buffer.alloc(8);
  let running = false;

  /** Reads what is queued (at most READS_PER_WAKEUP frames); how many it read. */
  const drain = (events: PortEvents): number => {
    for (let i = 0; i < READS_PER_WAKEUP; i++) {
      const n = c.read(fd, buffer, MAX_READ);
      if (n < 0) {
        const errno = koffi.errno();
        if (errno === EAGAIN || errno === ENETDOWN) return i;
        if (errno === EBADFD) {
          // The interface is gone (a TAP whose namespace was deleted): the cable is out for
          // good, not a fault of the driver. Stop reading; the kernel sees the carrier drop.
          running = false;
          events.carrier(false);
          return i;
        }
        throw new Error(`read on the NIC descriptor failed (errno ${errno})`);
      }
      if (n <= skip) continue;
      // An exact-size copy: a view of `buffer` would carry all of it across a domain boundary.
      events.frame(Uint8Array.prototype.slice.call(buffer, skip, n), vnet ? readVnetHeader(buffer, 0) : null);
    }
    return READS_PER_WAKEUP;
  };

  /**
   * While frames keep coming, the next read is tried on the next turn of the event loop rather
   * than after another poll on the thread pool (a hop there and back per wake-up); the first
   * turn that finds nothing goes back to waiting in poll().
   */
  const follow = (events: PortEvents): void => {
    if (!running) return;
    if (drain(events) > 0) setImmediate(follow, events);
    else wait(events);
  };

  const wait = (events: PortEvents): void => {
    if (!running) return;
    pollfd.writeInt32LE(fd, 0);
    pollfd.writeInt16LE(POLLIN, 4);
    pollfd.writeInt16LE(0, 6);
    c.poll.async(pollfd, 1, POLL_MS, (err, n) => {
      if (!running) return;
      if (err) throw err;
      if (n > 0 && drain(events) > 0) setImmediate(follow, events);
      else wait(events);
    });
  };

  return {
    async open(events) {
      running = true;
      drain(events);
      wait(events);
      // Each frame is an exact-size copy (drain): it may move to the kernel as it is.
      return { permanentMac: options.permanentMac, maxMtu: options.maxMtu, carrier: true, offloads: vnet, ownFrames: true };
    },
    send(frames, offloads) {
      let taken = 0;
      for (let i = 0; i < frames.length; i++) {
        const n = out ? writeWithHeader(c, fd, out, frames[i]!, offloads?.[i]) : c.write(fd, frames[i]!, frames[i]!.length);
        if (n < 0) {
          const errno = koffi.errno();
          if (REFUSED.has(errno)) break; // the interface refused it: the rest are dropped
          throw new Error(`write on the NIC descriptor failed (errno ${errno})`);
        }
        taken++;
      }
      return taken;
    },
    close() { running = false; },
  };
}

function writeWithHeader(c: Libc, fd: number, out: Buffer, frame: Uint8Array, offload: Offload | null | undefined): number {
  writeVnetHeader(out, 0, offload);
  copyBytes(out, VNET_HDR_LEN, frame); // a worker's frame is shared memory: memmove, not V8's loop
  return c.write(fd, out, VNET_HDR_LEN + frame.length);
}
