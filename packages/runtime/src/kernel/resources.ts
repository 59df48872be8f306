/**
 * Host resources the kernel opens and holds for a device: a disk image, a real block device,
 * the memory of a virtual device, a TAP or a packet socket on a network interface, a tty. The kernel's handle outlives every driver instance, so
 * the device keeps its identity (same file, same /dev/loopN, same contents) across restarts.
 */
import { closeSync, constants, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isatty } from 'node:tty';
import { join } from 'node:path';
import type { HostResource } from '../isolation/domain.js';
import { writeAll } from '../isolation/region-io.js';
import { openPacket } from './os/packet.js';
import { SealedMemory } from './os/sealed-memory.js';
import { openTap } from './os/tun.js';

export interface ResourceSpec {
  name: string;
  /** A file or block device to open. */
  path?: string;
  readOnly?: boolean;
  /** Create the file (empty) when it does not exist. */
  create?: boolean;
  /** Device memory of this many bytes (a virtual device's medium), zero-filled. */
  memoryBytes?: number;
  /** A Linux TAP interface of this name, opened (created if absent) by the kernel. */
  tap?: string;
  /** The TAP's frames carry a virtio-net header, with checksum and TCP segmentation offloads. */
  tapOffloads?: boolean;
  /** An existing network interface of this name, reached through an AF_PACKET socket. */
  packet?: string;
  /**
   * A tty (a serial port, a pty's slave end), opened read-write, non-blocking, never as the
   * controlling terminal. The kernel's descriptor keeps the tty open while drivers come and
   * go, so what arrives while no driver is running stays in the tty's input queue (a tty whose
   * last descriptor closes drops it, and a pty's far end sees a hang-up).
   */
  tty?: string;
}

export interface OpenOptions {
  /** Device memory can be a SharedArrayBuffer (threads); else a sealed memfd or a tmpfs file (processes). */
  sharedMemory: boolean;
}

export function openResource(spec: ResourceSpec, options: OpenOptions): HostResource {
  if (spec.memoryBytes !== undefined) return openMemory(spec, spec.memoryBytes, options);
  if (spec.tap !== undefined) {
    const fd = openTap(spec.tap, { offloads: spec.tapOffloads === true });
    return { name: spec.name, fd, path: `tap:${spec.tap}`, sizeBytes: 0, readOnly: false, isBlockDevice: false };
  }
  if (spec.packet !== undefined) {
    const { fd, address, mtu } = openPacket(spec.packet);
    return { name: spec.name, fd, path: `packet:${spec.packet}`, sizeBytes: 0, readOnly: false, isBlockDevice: false, link: { address, mtu } };
  }
  if (spec.tty !== undefined) return openTty(spec.name, spec.tty);
  if (spec.path === undefined) throw new Error(`resource ${spec.name} names neither a path nor memoryBytes`);
  const readOnly = spec.readOnly ?? false;
  const fd = openSync(spec.path, readOnly ? 'r' : spec.create ? constants.O_RDWR | constants.O_CREAT : 'r+', 0o644);
  try {
    const stat = fstatSync(fd);
    const isBlockDevice = stat.isBlockDevice();
    const sizeBytes = isBlockDevice ? blockDeviceSize(stat.rdev) : stat.size;
    return { name: spec.name, fd, path: spec.path, sizeBytes, readOnly, isBlockDevice };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Reads up to `max` bytes waiting on a resource, on the kernel's own (non-blocking) descriptor:
 * input a driver saw arrive and leaves the kernel to take (EntryPoint.takesInputFrom). Throws
 * the system call's error (EAGAIN: nothing waiting after all).
 */
export function takeInput(resource: HostResource, max: number): Uint8Array {
  const buffer = Buffer.allocUnsafe(max);
  const n = readSync(resource.fd, buffer, 0, max, null);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, n).slice();
}

/**
 * The kernel's own check that a device's resource is still there, on its own descriptor: why
 * it is gone, or undefined. A driver's ENXIO or ENODEV counts as "the device is gone" only
 * when this confirms it (a dead FUSE or network filesystem under an image, a block device
 * whose medium left); otherwise it is the driver's word alone.
 */
export function resourceGone(resource: HostResource): string | undefined {
  if (resource.fd < 0 || !(resource.isBlockDevice || resource.path.startsWith('/') || !resource.path.includes(':'))) return undefined;
  try {
    const stat = fstatSync(resource.fd);
    if (stat.isBlockDevice() && blockDeviceSize(stat.rdev) === 0) return `${resource.path} has no medium any more (size 0)`;
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    return `${resource.path} cannot be reached any more (${code} on the kernel's own descriptor)`;
  }
}

export function closeResource(resource: HostResource): void {
  const sealed = mapped.get(resource);
  mapped.delete(resource);
  if (sealed) sealed.close();
  else if (resource.fd >= 0) closeSync(resource.fd);
}

function openTty(name: string, path: string): HostResource {
  const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isCharacterDevice() || !isatty(fd)) throw new Error(`${path} is not a tty`);
    return { name, fd, path, sizeBytes: 0, readOnly: false, isBlockDevice: false };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

let memorySerial = 0;
/** The kernel's mapping of each device memory held in a sealed memfd (process domains). */
const mapped = new WeakMap<HostResource, SealedMemory>();

function openMemory(spec: ResourceSpec, bytes: number, options: OpenOptions): HostResource {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`memoryBytes must be a positive integer`);
  const base = { name: spec.name, path: `memory:${spec.name}`, sizeBytes: bytes, readOnly: false, isBlockDevice: false };
  if (options.sharedMemory) return { ...base, fd: -1, memory: new SharedArrayBuffer(bytes) };
  // A process cannot share a SharedArrayBuffer: the medium is a sealed memfd the kernel maps
  // (it copies reads answered `{ from, at }` out of it), whose descriptor only the kernel and the
  // driver it lends it to hold; where it cannot be had, an unlinked tmpfs file.
  const sealed = SealedMemory.create(`shadow-medium-${spec.name}`, bytes);
  if (sealed) {
    const resource: HostResource = { ...base, fd: sealed.fd, kernelCopies: true };
    mapped.set(resource, sealed);
    return resource;
  }
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const path = join(dir, `shadow-medium-${process.pid}-${++memorySerial}`);
  const fd = openSync(path, 'w+', 0o600);
  unlinkSync(path);
  ftruncateSync(fd, bytes);
  return { ...base, fd, kernelCopies: true };
}

/** Copies `data` into device memory at `at`, on the kernel's side; as readMemory. */
export function writeMemory(resource: HostResource, at: number, data: Uint8Array): void {
  if (resource.memory) {
    new Uint8Array(resource.memory, at, data.length).set(data);
    return;
  }
  const sealed = mapped.get(resource);
  if (sealed) return sealed.put(at, data);
  writeAll(resource.fd, data, at);
}

/**
 * Copies device memory at `at` into `into`, on the kernel's side: from the SharedArrayBuffer, or
 * with pread on the kernel's own descriptor of a tmpfs medium (which never waits on a disk); past
 * the end of the file (the driver shrank it) reads as zeroes. A read the driver answered
 * `{ from, at }` (EntryPoint.readsFrom); the caller checks the range first. Throws the system
 * call's error.
 */
export function readMemory(resource: HostResource, at: number, into: Uint8Array): void {
  if (resource.memory) {
    into.set(new Uint8Array(resource.memory, at, into.length));
    return;
  }
  const sealed = mapped.get(resource);
  if (sealed) return sealed.get(at, into);
  let done = 0;
  while (done < into.length) {
    const n = readSync(resource.fd, into, done, into.length - done, at + done);
    if (n === 0) {
      into.fill(0, done);
      return;
    }
    done += n;
  }
}

/** A block device's size, from sysfs (512-byte sectors); no ioctl needed. */
function blockDeviceSize(rdev: number): number {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | ((Math.floor(rdev / 2 ** 12)) & 0xfff00);
  const sectors = Number(readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim());
  return sectors * 512;
}
