/**
 * Pseudo-terminals, opened by the kernel through koffi (openpty, then raw mode on the slave
 * end, as a serial line carries bytes untouched). The kernel keeps the slave end open too, so
 * the master never reads a hang-up while no client has the pty open.
 */
import koffi from 'koffi';

interface Libc {
  openpty(master: Int32Array, slave: Int32Array, name: Buffer, termp: null, winp: null): number;
  tcgetattr(fd: number, termios: Buffer): number;
  tcsetattr(fd: number, when: number, termios: Buffer): number;
  cfmakeraw(termios: Buffer): void;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const util = koffi.load('libc.so.6');
  libc = {
    openpty: util.func('int openpty(_Out_ int *amaster, _Out_ int *aslave, _Out_ char *name, void *termp, void *winp)') as Libc['openpty'],
    tcgetattr: util.func('int tcgetattr(int fd, _Out_ uint8_t *termios)') as Libc['tcgetattr'],
    tcsetattr: util.func('int tcsetattr(int fd, int when, const uint8_t *termios)') as Libc['tcsetattr'],
    cfmakeraw: util.func('void cfmakeraw(_Inout_ uint8_t *termios)') as Libc['cfmakeraw'],
  };
  return libc;
}

export interface PtyPair {
  master: number;
  slave: number;
  /** The slave end's path, /dev/pts/N. */
  path: string;
}

/** A new pty pair in raw mode. */
export function openPty(): PtyPair {
  const c = load();
  const master = new Int32Array(1);
  const slave = new Int32Array(1);
  const name = Buffer.alloc(128);
  if (c.openpty(master, slave, name, null, null) !== 0) throw new Error(`openpty failed (errno ${koffi.errno()})`);
  const termios = Buffer.alloc(128); // struct termios is 60 bytes on Linux; room to spare
  if (c.tcgetattr(slave[0]!, termios) === 0) {
    c.cfmakeraw(termios);
    c.tcsetattr(slave[0]!, 0, termios);
  }
  return { master: master[0]!, slave: slave[0]!, path: name.toString('utf8', 0, name.indexOf(0)) };
}
