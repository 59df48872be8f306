/**
 * The outer wall of a process domain: bubblewrap (`bwrap`) runs the driver's node in its own
 * user, pid, network, IPC and UTS namespaces, as uid/gid 65534, with no capabilities, a clean
 * environment and a read-only view of only what it needs (node and its libraries, the
 * runtime's compiled code, the driver's folder, the spec's granted paths, the directories of
 * the unix sockets it connects to). Node's permission model runs inside as a second layer.
 *
 * What each piece stops: the pid namespace, a driver signalling the host or a sibling driver
 * (their pids do not exist in its namespace); the network namespace, sockets to the host's
 * network (a driver whose manifest says `network: true` keeps it); the mount view, reading
 * the host's files and secrets; `--clearenv`, reading the host's environment; the rlimit on
 * data, a driver eating the host's memory outside its JavaScript heap (Buffers, native code);
 * `--die-with-parent` and `--new-session`, a driver outliving the host or writing to its
 * terminal. Descriptors the kernel lends pass through as inherited descriptors and keep the
 * access they were opened with.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Sandbox } from './domain.js';
import { offHeapLimitBytes } from './off-heap.js';

const BWRAP = '/usr/bin/bwrap';
const PRLIMIT = '/usr/bin/prlimit';
/** The unprivileged user a driver runs as inside its sandbox (nobody/nogroup). */
const NOBODY = '65534';

let usable: boolean | undefined;

/**
 * Whether bubblewrap exists and can make its namespaces here (root, or user namespaces open to
 * unprivileged users): tried once with the flags a domain uses, cached for the process.
 */
export function bubblewrapUsable(): boolean {
  if (usable === undefined) {
    usable = existsSync(BWRAP) && spawnSync(BWRAP, [
      '--unshare-all', '--die-with-parent', '--uid', NOBODY, '--gid', NOBODY,
      ...systemView(), '--proc', '/proc', '--dev', '/dev', '--', process.execPath, '-e', '0',
    ], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  }
  return usable;
}

/** The system folders node's dynamic loader needs, read-only (merged-/usr symlinks kept as symlinks). */
function systemView(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const top of ['/lib', '/lib64', '/lib32', '/libx32', '/bin', '/sbin']) {
    const stat = lstatOrUndefined(top);
    if (stat?.isSymbolicLink()) args.push('--symlink', readlinkSync(top), top);
    else if (stat?.isDirectory()) args.push('--ro-bind', top, top);
  }
  for (const file of ['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d']) {
    if (existsSync(file)) args.push('--ro-bind', file, file);
  }
  // A node installed outside /usr (nvm, /opt): its whole prefix (bin/node and lib/).
  const node = realpathSync(process.execPath);
  if (!node.startsWith(`/usr${sep}`)) args.push('--ro-bind', dirname(dirname(node)), dirname(dirname(node)));
  return args;
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The package.json that decides how node loads modules under `path` (ESM or CommonJS): the
 * nearest one at or above it. Without it in the view, the driver's `import` lines would fail.
 */
function packageScope(path: string): string | undefined {
  let dir = existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
    dir = dirname(dir);
  }
}

/** A path and its real target, each once: the view must answer under both names. */
function bothNames(path: string): string[] {
  const absolute = resolve(path);
  try {
    const real = realpathSync(absolute);
    return real === absolute ? [absolute] : [absolute, real];
  } catch {
    return [absolute];
  }
}

/** Bind mounts, parents before children (a writable folder inside a read-only one must come last). */
function mounts(sandbox: Sandbox): string[] {
  const binds = new Map<string, 'ro' | 'rw'>();
  const add = (path: string, mode: 'ro' | 'rw') => { if (binds.get(path) !== 'rw') binds.set(path, mode); };
  for (const path of sandbox.allowFsRead.flatMap(bothNames)) {
    if (!existsSync(path)) continue;
    add(path, 'ro');
    const scope = packageScope(path);
    if (scope) add(scope, 'ro');
  }
  // The directory of each unix socket, not the socket: a server that restarts makes a new
  // socket file, and a bind of the old one would keep the driver from reconnecting. But never a
  // directory with mounts beneath it: a bind copies them into the sandbox's mount namespace,
  // where they live on after the host unmounts them (a loop device that never detaches, a FUSE
  // server that never exits). There the socket file alone is bound, and a server restarted on
  // that path is reached by the next driver instance.
  const mounts = mountPoints();
  for (const socket of sandbox.sockets ?? []) {
    const path = resolve(socket);
    const dir = dirname(path);
    const beneath = mounts.some((m) => m.startsWith(`${dir}${sep}`));
    if (!beneath && existsSync(dir)) add(dir, 'ro');
    else if (beneath && existsSync(path)) add(path, 'ro');
  }
  for (const path of sandbox.allowFsWrite.flatMap(bothNames)) {
    // A file still to be created: its folder, when it exists (never a farther ancestor).
    const target = existsSync(path) ? path : dirname(path);
    if (existsSync(target)) add(target, 'rw');
  }
  return [...binds].sort(([a], [b]) => a.split(sep).length - b.split(sep).length)
    .flatMap(([path, mode]) => [mode === 'rw' ? '--bind' : '--ro-bind', path, path]);
}

/** The host's mount points (from /proc/self/mountinfo, octal escapes decoded). */
function mountPoints(): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
      .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  } catch {
    return [];
  }
}

/** What node maps of its own, besides the heap and the driver's buffers (MiB). */
const NODE_DATA_MB = 128;

/**
 * The data a driver process may map, in bytes: its JavaScript heap, the buffers it may hold
 * outside it (off-heap.ts, which reports a driver that keeps more before this hard limit stops
 * its next allocation), and what node maps of its own: 48 MiB at start (its threads' stacks
 * count), about 90 once a driver serves.
 */
export function dataLimitBytes(memoryLimitMb: number): number {
  return (memoryLimitMb + NODE_DATA_MB) * 1024 * 1024 + offHeapLimitBytes(memoryLimitMb);
}

/** bwrap's arguments to run `node execArgv entry` for a driver in its sandbox. */
export function bubblewrapArgs(sandbox: Sandbox, memoryLimitMb: number, node: string[]): string[] {
  const limit = existsSync(PRLIMIT) ? [PRLIMIT, `--data=${dataLimitBytes(memoryLimitMb)}`, '--'] : [];
  return [
    '--unshare-all', ...(sandbox.network ? ['--share-net'] : []),
    '--die-with-parent', '--new-session',
    '--uid', NOBODY, '--gid', NOBODY,
    ...systemView(), ...mounts(sandbox),
    '--proc', '/proc', '--dev', '/dev', '--chdir', '/',
    '--clearenv',
    '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', '/nonexistent',
    '--', ...limit, process.execPath, ...node,
  ];
}

export { BWRAP };
