/** The service harness (now in the public test kit) and what only the runtime's tests use. */
import { readFileSync } from 'node:fs';

export { shadowdBin, shadowd, shadowdOk, ServiceProcess, type LogLine, type Run } from '../../src/testing/service-process.js';

/** Polls until `check` returns a value, or rejects at the deadline with the last reason. */
export async function until<T>(check: () => Promise<T | undefined>, deadlineMs: number, what: string): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pids of the live processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)) if (task) out.push(Number(task));
  return out;
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
