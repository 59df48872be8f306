/**
 * Processes inside network namespaces, for the tests and the benchmark: started with `ip netns
 * exec` (which execs the command, so the pid is the command's), their output collected and
 * waited on with deadlines (never sleeping), and stopped for sure at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Resolves with `promise`, or fails once `deadlineMs` passed. */
export async function within<T>(promise: Promise<T>, deadlineMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), deadlineMs);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first tool not found on PATH (or at its absolute path), or undefined. */
export function toolMissing(tools: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter);
  return tools.find((t) => (t.startsWith('/') ? !existsSync(t) : !dirs.some((d) => existsSync(join(d, t)))));
}

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Set once the process exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until `pattern` shows in stdout or stderr; fails early if the process exits. */
  waitFor(pattern: RegExp, deadlineMs?: number): Promise<RegExpMatchArray>;
  /** Waits until `check` holds, looking again whenever the process writes or exits. */
  waitUntil(check: () => boolean, what: string, deadlineMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Every process started here and not yet known to have exited. */
const running = new Set<Proc>();

/** Starts `command` inside namespace `ns` (`ip netns exec` execs it: the pid is the command's). */
export function startIn(ns: string, command: string, args: string[], name = command): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const changed = new EventEmitter();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; changed.emit('change'); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; changed.emit('change'); });
  child.stdin!.on('error', () => undefined);
  const proc: Proc = {
    name, child, exit: undefined,
    stdout: () => out,
    stderr: () => err,
    exited: new Promise((resolve) => child.once('close', (code, signal) => {
      proc.exit = { code, signal };
      running.delete(proc);
      changed.emit('change');
      resolve(proc.exit);
    })),
    async waitUntil(check, what, deadlineMs = 10_000) {
      if (check()) return;
      let listener = (): void => undefined;
      try {
        await within(new Promise<void>((resolve) => {
          listener = () => { if (check() || proc.exit) resolve(); };
          changed.on('change', listener);
        }), deadlineMs, `${name}: ${what}`);
      } finally {
        changed.off('change', listener);
      }
    },
    async waitFor(pattern, deadlineMs = 10_000) {
      await proc.waitUntil(() => pattern.test(out) || pattern.test(err), String(pattern), deadlineMs);
      const m = out.match(pattern) ?? err.match(pattern);
      if (!m) throw new Error(`${name} exited (${JSON.stringify(proc.exit)}) before ${pattern}: ${err.slice(-2000)}`);
      return m;
    },
    async stop(graceMs = 2000) {
      if (proc.exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await proc.exited;
      clearTimeout(timer);
    },
  };
  running.add(proc);
  return proc;
}

/** Stops every process started here that is still running (for `finally` blocks). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}
