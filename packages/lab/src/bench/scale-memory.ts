/**
 * Memory of the kernel's process and everything it started, as proportional set size (PSS):
 * a page shared by k processes counts 1/k in each, so the node binary and the libraries that
 * every process domain maps are counted once in the sum, where RSS would count them in every
 * child. Worker domains live in the kernel's process and are inside its own PSS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const KiB = 1024;

export interface PssSample {
  /** PSS of the kernel's own process (its worker domains included), bytes. */
  hostBytes: number;
  /** PSS of every descendant process (process domains, their sandboxes), bytes. */
  childBytes: number;
  /** Descendant processes counted. */
  children: number;
  /** Descendants whose PSS could not be read (they ended while being looked at). */
  unreadable: number;
}

/** The `Pss:` line of /proc/<pid>/smaps_rollup, in bytes; undefined when it cannot be read. */
export function pssOf(pid: number | 'self'): number | undefined {
  try {
    const match = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) * KiB : undefined;
  } catch {
    return undefined;
  }
}

/** Every process below `root` (children, their children, ...), found by walking /proc by ppid. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid);
      if (list) list.push(Number(name));
      else children.set(ppid, [Number(name)]);
    } catch { /* the process ended while we looked */ }
  }
  const out: number[] = [];
  const pending = [...(children.get(root) ?? [])];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    out.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * A full collection of the kernel's heap, so that garbage left by an earlier series or by the
 * disks' fill does not count as the devices' memory (the benchmark runs without --expose-gc;
 * the flag, set now, exposes `gc` to contexts created after it).
 */
function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** PSS of the kernel's process and of every process below it, after a collection of the kernel's heap. */
export function sampleTreePss(): PssSample {
  collectGarbage();
  const sample: PssSample = { hostBytes: pssOf('self') ?? Number.NaN, childBytes: 0, children: 0, unreadable: 0 };
  for (const pid of descendantsOf(process.pid)) {
    const pss = pssOf(pid);
    if (pss === undefined) sample.unreadable++;
    else { sample.childBytes += pss; sample.children++; }
  }
  return sample;
}
