/**
 * Leak checks: what a test opened must be gone when it ends. Counts open descriptors, child
 * processes, the event loop's active resources (timers, workers, handles), and the runtime's
 * clock timers (repeating ones are unref'd and the event loop does not list them).
 */
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { liveClockTimers } from '../clock.js';

// libuv starts its thread pool on first use; start it now so it never counts as a leak.
await fsp.stat('/');

export interface Snapshot {
  fds: number;
  /** OS threads of this process: a worker that was not terminated keeps one. */
  threads: number;
  children: number[];
  resources: Record<string, number>;
  /** The runtime's clock timers still armed (kernel timers, watchdogs), unref'd ones included. */
  timers: number;
}

export function snapshot(): Snapshot {
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  const threads = readdirSync('/proc/self/task').length;
  return { fds: readdirSync('/proc/self/fd').length, threads, children: childPids(), resources, timers: liveClockTimers() };
}

export function childPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push(Number(name));
    } catch { /* the process ended while we looked */ }
  }
  return out;
}

/** Differences between two snapshots, as readable lines (empty when nothing leaked). */
export function leaksSince(before: Snapshot, after: Snapshot = snapshot()): string[] {
  const problems: string[] = [];
  if (after.fds > before.fds) problems.push(`${after.fds - before.fds} file descriptors`);
  if (after.threads > before.threads) problems.push(`${after.threads - before.threads} threads (workers)`);
  const newChildren = after.children.filter((p) => !before.children.includes(p));
  if (newChildren.length) problems.push(`child processes ${newChildren.join(', ')}`);
  if (after.timers > before.timers) problems.push(`${after.timers - before.timers} runtime timers (a repeating one is invisible to the event loop's list)`);
  for (const [kind, n] of Object.entries(after.resources)) {
    if (n > (before.resources[kind] ?? 0)) problems.push(`${n - (before.resources[kind] ?? 0)} ${kind}`);
  }
  return problems;
}

/**
 * Waits until nothing leaked. Worker and process exits are asynchronous even after we await
 * them, so the check polls the condition until a deadline instead of sleeping a fixed time.
 */
export async function expectNoLeaks(before: Snapshot, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  let problems = leaksSince(before);
  while (problems.length > 0 && Date.now() < end) {
    await new Promise((r) => setImmediate(r));
    problems = leaksSince(before);
  }
  if (problems.length > 0) throw new Error(`leaked: ${problems.join('; ')}`);
}
