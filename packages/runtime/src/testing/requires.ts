/**
 * What a test needs from the machine, checked in one place: `requires(...needs)` returns why
 * the test cannot run here (a skip reason node:test prints), or false when it can. Use it as
 * `test('…', { skip: requires('sox', 'root') }, async () => …)`, so that a machine without a
 * tool skips the test and says why instead of failing it.
 *
 * A need is a feature of the machine or a program:
 * - `root`: running as uid 0 (loop devices, TAPs, namespaces, mounts);
 * - `tun`: /dev/net/tun (the kernel's TUN/TAP driver);
 * - `netns`: network namespaces (/proc/self/ns/net) and iproute2's `ip` to make them;
 * - `loop`: /dev/loop-control (the kernel's loop driver);
 * - `fuse`: /dev/fuse (the kernel's FUSE driver);
 * - an absolute path: that file, executable;
 * - any other name: a program, executable, on PATH or in an sbin directory (/usr/local/sbin,
 *   /usr/sbin, /sbin, which a user's PATH often lacks).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of a program on PATH (or in an sbin directory), or undefined. */
export function findProgram(name: string): string | undefined {
  if (name.startsWith('/')) return executable(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  return dirs.map((dir) => join(dir, name)).find(executable);
}

const device = (path: string, what: string) => (): string | undefined => (existsSync(path) ? undefined : `no ${path} (${what})`);

const features: Record<string, () => string | undefined> = {
  root: () => (process.getuid?.() === 0 ? undefined : `needs root (running as uid ${process.getuid?.() ?? 'unknown'})`),
  tun: device('/dev/net/tun', 'the kernel\'s TUN/TAP driver'),
  loop: device('/dev/loop-control', 'the kernel\'s loop driver'),
  fuse: device('/dev/fuse', 'the kernel\'s FUSE driver'),
  netns: () => device('/proc/self/ns/net', 'network namespaces in this kernel')()
    ?? (findProgram('ip') ? undefined : '`ip` is not installed (iproute2), needed for network namespaces'),
};

/**
 * Why a test cannot run on this machine (every missing need, joined by '; '), or false when
 * everything it needs is here.
 */
export function requires(...needs: string[]): string | false {
  const reasons: string[] = [];
  for (const need of needs) {
    const feature = features[need];
    const reason = feature ? feature()
      : findProgram(need) ? undefined
        : need.startsWith('/') ? `${need} is not installed` : `\`${need}\` is not installed (not on PATH)`;
    if (reason && !reasons.includes(reason)) reasons.push(reason);
  }
  return reasons.length > 0 ? reasons.join('; ') : false;
}
