/**
 * Real network applications in test namespaces: processes started inside a namespace whose
 * output the test waits on (never sleeping), stopped for sure at the end; and a fault
 * rotation that hits several devices in turn with every fault kind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as pace } from 'node:timers/promises';
import type { FaultKind, RecoveryEvent, Runtime } from '../../src/index.js';
import { EventEmitter } from 'node:events';
import { waitForEvent } from './events.js';

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

export interface Injection { device: string; kind: FaultKind; at: number }

/**
 * Injects faults into the targets in turn, a new one only after the previous recovery is over
 * and a pause (which sets the rate): fault i goes to target i mod n with kind ⌊i / n⌋ mod k,
 * so every target gets every kind. After each injection `poke` gives a fault that acts on the
 * next call a call to act on. `onInject` hears of each injection as it happens (for recovery
 * windows, which start when a fault acts, before it is detected).
 */
export function faultRotation(rt: Runtime, targets: { name: string; poke: () => Promise<unknown> }[], kinds: readonly FaultKind[],
  pauseMs: number, onInject: (injection: Injection) => void = () => undefined) {
  const stop = new AbortController();
  const injections: Injection[] = [];
  const recoveries: RecoveryEvent[] = [];
  const covered = (): boolean => targets.every((t) => kinds.every((k) => injections.some((x) => x.device === t.name && x.kind === k)));
  let onCovered = (): void => undefined;
  const coverage = new Promise<void>((resolve) => { onCovered = resolve; });
  const done = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      try {
        await pace(pauseMs + ((i * 37) % Math.max(1, Math.round(pauseMs / 2))), undefined, { signal: stop.signal });
      } catch {
        break;
      }
      const target = targets[i % targets.length]!;
      const kind = kinds[Math.floor(i / targets.length) % kinds.length]!;
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === target.name, 20_000);
      rt.inject(target.name, { kind });
      const injection = { device: target.name, kind, at: Date.now() };
      injections.push(injection);
      onInject(injection);
      const [event] = await Promise.all([recovered, target.poke()]);
      recoveries.push(event);
      if (covered()) onCovered();
    }
  })();
  return {
    injections,
    recoveries,
    /** Every target has had every kind (and recovered). */
    covered,
    /** Resolves once every target has had every kind and recovered from it. */
    coverage,
    stop: async () => { stop.abort(); await done; },
  };
}

/** Runs `sample` every `everyMs` until stopped (a measurement alongside a test, never a wait). */
export function sampler(sample: () => Promise<void>, everyMs: number) {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => { if (!stopped) current = current.then(sample).catch(() => undefined); }, everyMs);
  return { stop: async () => { stopped = true; clearInterval(timer); await current; } };
}
