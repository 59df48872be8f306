/**
 * Descriptor checks for worker domains (defense in depth, not a wall). A worker shares the
 * host's descriptor table: its driver could write, read or close the kernel's own descriptors
 * (another device's medium, the host's stdout) and corrupt what another driver serves. Every
 * `fs` function that takes a descriptor number is wrapped: it goes through for a descriptor the
 * driver opened itself through `fs` and still holds, and (but for close) for one the kernel lent
 * it; any other is refused before the system call: the driver is reported as a bad kernel call
 * and the call throws.
 *
 * What goes around it: native code (koffi, addons), `process.binding('fs')`, and the modules
 * that adopt a descriptor outside `fs` (`net.Socket({ fd })`, `tty`, a child's `stdio`). A
 * driver that is not trusted belongs in a process domain, which has descriptors of its own.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/** Functions whose first argument is a descriptor. */
const BY_DESCRIPTOR = [
  'fchmod', 'fchown', 'fdatasync', 'fstat', 'fsync', 'ftruncate', 'futimes', 'read', 'readv', 'write', 'writev',
] as const;
/** Functions that take a path or a descriptor. */
const PATH_OR_DESCRIPTOR = ['readFile', 'writeFile', 'appendFile'] as const;

type Fn = (...args: unknown[]) => unknown;
type Table = Record<string, Fn>;

export interface DescriptorGuard {
  /** Descriptors the kernel lends the driver (its grants): usable, never closed by it. */
  lend(fds: readonly number[]): void;
  /** Descriptors no longer lent (a device that left a shared domain): refused from now on. */
  withdraw(fds: readonly number[]): void;
}

type Check = (call: string, fd: unknown, closing?: boolean) => void;

function wrap(table: Table, name: string, guard: (original: Fn) => Fn): void {
  const original = table[name];
  if (typeof original === 'function') table[name] = guard(original);
}

/** Every call that takes a descriptor checks it first; a close forgets it. */
function checkCalls(table: Table, check: Check, opened: Set<number>): void {
  for (const base of [...BY_DESCRIPTOR, ...PATH_OR_DESCRIPTOR]) {
    for (const name of [base, `${base}Sync`]) wrap(table, name, (original) => function (this: unknown, ...args) {
      check(name, args[0]);
      return original.apply(this, args);
    });
  }
  for (const name of ['close', 'closeSync']) {
    wrap(table, name, (original) => function (this: unknown, ...args) {
      check(name, args[0], true);
      // Forgotten before the system call: the number may be the kernel's again right after.
      opened.delete(args[0] as number);
      return original.apply(this, args);
    });
  }
  for (const name of ['createReadStream', 'createWriteStream']) {
    wrap(table, name, (original) => function (this: unknown, ...args) {
      check(name, (args[1] as { fd?: unknown } | undefined)?.fd);
      return original.apply(this, args);
    });
  }
}

/** Descriptors the driver opens through fs (sync, callback, promise) become its own. */
function trackOpens(table: Table, opened: Set<number>, handles: Map<number, WeakRef<fs.promises.FileHandle>>): void {
  wrap(table, 'openSync', (original) => function (this: unknown, ...args) {
    const fd = original.apply(this, args) as number;
    opened.add(fd);
    return fd;
  });
  wrap(table, 'open', (original) => function (this: unknown, ...args) {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (err: unknown, fd: number) => {
        if (!err) opened.add(fd);
        (callback as Fn)(err, fd);
      };
    }
    return original.apply(this, args);
  });
  wrap(fs.promises as unknown as Table, 'open', (original) => async function (this: unknown, ...args) {
    const handle = (await original.apply(this, args)) as fs.promises.FileHandle;
    handles.set(handle.fd, new WeakRef(handle));
    return handle;
  });
}

/**
 * Installs the checks on this thread's `fs` (and its ES module exports). `refuse` reports the
 * driver's failure; it is called once per refused call, before the call throws.
 */
export function guardDescriptors(refuse: (message: string) => void): DescriptorGuard {
  const lent = new Set<number>();
  const opened = new Set<number>();
  // A FileHandle's number is its own while it is open (its fd is -1 once closed).
  const handles = new Map<number, WeakRef<fs.promises.FileHandle>>();
  const own = (fd: number): boolean => opened.has(fd) || handles.get(fd)?.deref()?.fd === fd;
  const check: Check = (call, fd, closing = false) => {
    if (typeof fd !== 'number') return; // not a descriptor: fs itself refuses it, or it is a path
    if (own(fd) || (!closing && lent.has(fd))) return;
    const message = `${call}: descriptor ${fd} was neither opened by the driver nor lent to it by the kernel`;
    refuse(message);
    throw Object.assign(new Error(message), { code: 'ERR_ACCESS_DENIED' });
  };
  checkCalls(fs as unknown as Table, check, opened);
  trackOpens(fs as unknown as Table, opened, handles);
  // Modules that import { writeSync } from 'node:fs' see the checked functions too.
  syncBuiltinESMExports();
  return {
    lend: (fds) => { for (const fd of fds) if (fd >= 0) lent.add(fd); },
    withdraw: (fds) => { for (const fd of fds) lent.delete(fd); },
  };
}
