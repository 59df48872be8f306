/**
 * `shadowd` as a test drives it (the runtime's tests, the lab's, an operator's own): a real child process (`shadowd run CONFIG`) whose JSON log
 * lines are read from its stdout, and the CLI verbs as separate processes. Nothing here
 * sleeps: every wait is on a line, an exit or a condition polled up to a deadline.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';

/** The package's own `shadowd` (bin/ ships beside dist/ in the package). */
export const shadowdBin = new URL('../../../bin/shadowd.js', import.meta.url).pathname;

export interface Run { code: number; stdout: string; stderr: string }

/** Runs `shadowd ARGS` to its exit (never rejects; the code says how it went). */
export function shadowd(args: string[], options: { cwd?: string; prefix?: string[]; timeoutMs?: number } = {}): Promise<Run> {
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, shadowdBin, ...args];
  return new Promise((resolve) => {
    execFile(command!, rest, { cwd: options.cwd, timeout: options.timeoutMs ?? 30_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like shadowd(), but rejects unless it exits 0. */
export async function shadowdOk(args: string[], cwd?: string): Promise<string> {
  const run = await shadowd(args, { cwd });
  if (run.code !== 0) throw new Error(`shadowd ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

export interface LogLine { event?: string; msg?: string; device?: string; [field: string]: unknown }

export class ServiceProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters = new Set<() => void>();

  constructor(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
    this.child = spawn(process.execPath, [shadowdBin, 'run', ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try { this.lines.push(JSON.parse(line) as LogLine); } catch { this.lines.push({ msg: line, event: 'not-json' }); }
      }
      for (const wake of this.#waiters) wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => { this.stderr.push(chunk.toString('utf8')); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => { for (const wake of this.#waiters) wake(); resolve({ code, signal }); }));
  }

  /** The first log line (from `from` on) that matches, within the deadline. */
  waitFor(match: (line: LogLine) => boolean, deadlineMs = 30_000, from = 0): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.slice(from).find(match);
        if (found) { done(); resolve(found); } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done(); reject(new Error(`shadowd run exited (${this.child.exitCode ?? this.child.signalCode}) before the line; stderr: ${this.stderr.join('')}`));
        }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no such log line within ${deadlineMs} ms; last lines: ${JSON.stringify(this.lines.slice(-3))}`)); }, deadlineMs);
      const done = () => { clearTimeout(timer); this.#waiters.delete(check); };
      this.#waiters.add(check);
      check();
    });
  }

  ready(): Promise<LogLine> {
    return this.waitFor((l) => l.event === 'ready');
  }

  /** SIGTERM, then the exit; a service that does not stop in time is killed (and the test fails on the code). */
  async stop(deadlineMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), deadlineMs);
    try { return await this.exited; } finally { clearTimeout(timer); }
  }
}
