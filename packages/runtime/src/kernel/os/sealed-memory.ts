/**
 * Memory the kernel shares with a driver's process: a memfd sealed against shrinking and
 * growing, mapped into the kernel's process, its descriptor lent to the driver (which reads and
 * writes it with pread and pwrite: a sandboxed driver may not load the native code a mapping
 * needs). The seals are what make the mapping safe for the kernel: a driver that truncated a
 * mapped file would have the kernel's next copy fault (SIGBUS) and end the host.
 *
 * The kernel copies to and from its mapping with memcpy through koffi, by address. Not an
 * ArrayBuffer over it: V8 counts a plain ArrayBuffer's bytes as the heap's, and with a few MiB
 * of them held for good its isolate started a full garbage collection every 50 ms under load.
 */
import { closeSync } from 'node:fs';
import koffi from 'koffi';

interface Libc {
  memfdCreate(name: string, flags: number): number;
  ftruncate(fd: number, length: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  mmap(addr: null, length: number, prot: number, flags: number, fd: number, offset: number): unknown;
  munmap(addr: unknown, length: number): number;
  /** memcpy into the mapping (at an address) from a buffer, and out of it into one. */
  copyIn(to: number, from: Uint8Array, length: number): unknown;
  copyOut(to: Uint8Array, from: number, length: number): unknown;
}

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 1;
const F_SEAL_SHRINK = 2;
const F_SEAL_GROW = 4;
const PROT_READ_WRITE = 3;
const MAP_SHARED = 1;

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const lib = koffi.load('libc.so.6');
    libc = {
      memfdCreate: lib.func('int memfd_create(const char *name, unsigned int flags)') as Libc['memfdCreate'],
      ftruncate: lib.func('int ftruncate(int fd, int64_t length)') as Libc['ftruncate'],
      fcntl: lib.func('int fcntl(int fd, int cmd, int arg)') as Libc['fcntl'],
      mmap: lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as Libc['mmap'],
      munmap: lib.func('int munmap(void *addr, size_t length)') as Libc['munmap'],
      copyIn: lib.func('memcpy', 'void *', ['uintptr_t', 'const void *', 'size_t']) as Libc['copyIn'],
      copyOut: lib.func('memcpy', 'void *', ['void *', 'uintptr_t', 'size_t']) as Libc['copyOut'],
    };
  } catch {
    libc = null;
  }
  return libc;
}

export class SealedMemory {
  readonly sizeBytes: number;
  #fd: number;
  #address: unknown;
  #base: number;
  readonly #copy: Pick<Libc, 'copyIn' | 'copyOut'>;

  private constructor(fd: number, sizeBytes: number, address: unknown, copy: Libc) {
    this.#fd = fd;
    this.sizeBytes = sizeBytes;
    this.#address = address;
    this.#base = Number(koffi.address(address));
    this.#copy = copy;
  }

  /** `sizeBytes` of zeroes, sealed and mapped; undefined where any step is not available (no koffi, no memfd). */
  static create(name: string, sizeBytes: number): SealedMemory | undefined {
    const c = loadLibc();
    if (!c) return undefined;
    const fd = c.memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return undefined;
    try {
      if (c.ftruncate(fd, sizeBytes) !== 0) throw new Error('ftruncate');
      if (c.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) !== 0) throw new Error('seal');
      const address = c.mmap(null, sizeBytes, PROT_READ_WRITE, MAP_SHARED, fd, 0);
      if (address === null || koffi.address(address) === 0xffffffffffffffffn) throw new Error('mmap');
      return new SealedMemory(fd, sizeBytes, address, c);
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  /** The kernel's descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /** Copies `data` in at `offset`; a range outside the memory (or a closed one) is a RangeError. */
  put(offset: number, data: Uint8Array): void {
    this.#check(offset, data.length);
    this.#copy.copyIn(this.#base + offset, data, data.length);
  }

  /** Fills `into` from `offset`; a range outside the memory (or a closed one) is a RangeError. */
  get(offset: number, into: Uint8Array): void {
    this.#check(offset, into.length);
    this.#copy.copyOut(into, this.#base + offset, into.length);
  }

  /** Unmaps and closes; nothing copies to or from the mapping after. */
  close(): void {
    if (this.#fd < 0) return;
    loadLibc()?.munmap(this.#address, this.sizeBytes);
    closeSync(this.#fd);
    this.#fd = -1;
    this.#address = null;
  }

  #check(offset: number, length: number): void {
    if (this.#fd < 0 || !Number.isSafeInteger(offset) || offset < 0 || offset + length > this.sizeBytes) {
      throw new RangeError(`${length} bytes at ${offset} are outside ${this.sizeBytes} bytes of sealed memory${this.#fd < 0 ? ' (closed)' : ''}`);
    }
  }
}
