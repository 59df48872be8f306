/**
 * Keeps the tty's input queue through bindings-cpp's opens. bindings-cpp (unmodified) sets the
 * baud rate on every `open` and `update` with `tcflush(fd, TCIOFLUSH)` first, which discards
 * both of the tty's queues: a restarted driver's reset and replayed open would throw away the
 * bytes that arrived while no driver ran, the very bytes the kernel holds the tty to keep. Taking
 * them out just before the open cannot close the gap: bytes arriving between that read and the
 * flush (on the binding's thread pool, a fraction of a millisecond later) are still lost, and a
 * continuous stream loses some on most recoveries.
 *
 * So the driver's process turns that one system call into a no-op: a seccomp filter answers
 * `ioctl(fd, TCFLSH, TCIOFLUSH)` with success without running it, and nothing is ever taken off
 * the queue but by a read. The class's `flush` entry point still discards both queues: the
 * driver flushes each queue on its own (TCIFLUSH, then TCOFLUSH), which the filter lets through.
 * Only in a process domain of its own (a filter binds its process for life, every thread of it:
 * in a worker or inline domain it would bind the host).
 */
import koffi from 'koffi';

/** Per architecture: the audit arch, the numbers of ioctl and seccomp. */
const ARCH: Record<string, { audit: number; ioctl: number; seccomp: number } | undefined> = {
  x64: { audit: 0xc000003e, ioctl: 16, seccomp: 317 },
  arm64: { audit: 0xc00000b7, ioctl: 29, seccomp: 277 },
};
const TCFLSH = 0x540b;
const TCIFLUSH = 0;
const TCOFLUSH = 1;
const TCIOFLUSH = 2;
const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const RET_SUCCESS = 0x00050000; // SECCOMP_RET_ERRNO with errno 0: the call returns 0, not run
const RET_ALLOW = 0x7fff0000;
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const RET_K = 0x06;

let libc: ReturnType<typeof koffi.load> | undefined;
const lib = () => (libc ??= koffi.load('libc.so.6'));

function insn(code: number, jt: number, jf: number, k: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(code, 0);
  b[2] = jt;
  b[3] = jf;
  b.writeUInt32LE(k >>> 0, 4);
  return b;
}

/** The BPF program: ioctl(_, TCFLSH, TCIOFLUSH) succeeds without running; everything else runs. */
function program(arch: { audit: number; ioctl: number }): Buffer {
  // seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (the low word first: little-endian).
  return Buffer.concat([
    insn(LD_W_ABS, 0, 0, 4), insn(JEQ_K, 0, 7, arch.audit),
    insn(LD_W_ABS, 0, 0, 0), insn(JEQ_K, 0, 5, arch.ioctl),
    insn(LD_W_ABS, 0, 0, 24), insn(JEQ_K, 0, 3, TCFLSH),
    insn(LD_W_ABS, 0, 0, 32), insn(JEQ_K, 0, 1, TCIOFLUSH),
    insn(RET_K, 0, 0, RET_SUCCESS), insn(RET_K, 0, 0, RET_ALLOW),
  ]);
}

/** Set by process-entry.ts: this driver has a process of its own. */
export const inOwnProcess = (): boolean => process.env.SHADOW_DOMAIN === 'process';

/**
 * Installs the filter in this process (every thread). Returns why it could not (an architecture
 * without the numbers, a kernel without seccomp), or undefined once it is in force.
 */
export function keepInputThroughOpens(): string | undefined {
  const arch = ARCH[process.arch];
  if (!arch) return `no seccomp numbers for ${process.arch}`;
  if (!inOwnProcess()) return 'not in a process domain of its own';
  const c = lib();
  const prctl = c.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
  const syscall = c.func('long syscall(long, ...)');
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) return `prctl(PR_SET_NO_NEW_PRIVS) failed (errno ${koffi.errno()})`;
  const filter = program(arch);
  const fprog = Buffer.alloc(16); // struct sock_fprog { u16 len; struct sock_filter *filter; }
  fprog.writeUInt16LE(filter.length / 8, 0);
  fprog.writeBigUInt64LE(BigInt(koffi.address(filter) as unknown as bigint), 8);
  const rc = Number(syscall(arch.seccomp, 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', SECCOMP_FILTER_FLAG_TSYNC, 'void *', fprog));
  return rc === 0 ? undefined : `seccomp failed (${rc}, errno ${koffi.errno()})`;
}

/** Discards both of the tty's queues, one at a time (the filter lets these through). */
let tcflush: ((fd: number, queue: number) => number) | undefined;
export function flushQueues(fd: number): void {
  tcflush ??= lib().func('int tcflush(int, int)') as (fd: number, queue: number) => number;
  for (const queue of [TCIFLUSH, TCOFLUSH]) {
    if (tcflush(fd, queue) !== 0) throw Object.assign(new Error(`tcflush failed (errno ${koffi.errno()})`), { code: 'EIO' });
  }
}
