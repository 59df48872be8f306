/**
 * The runtime's `shadowd` as the lab's tests use it: the installed package's bin, started as
 * a real process (`shadowd run CONFIG`) whose JSON log lines are read from stdout, and the
 * verbs as separate processes. The lab cannot import the runtime's test helpers, so this is
 * the small part of them it needs. Nothing sleeps: waits are on lines and exits, with deadlines.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const manifest = createRequire(import.meta.url).resolve('shadow-drivers/package.json');
export const shadowdBin = join(dirname(manifest), 'bin', 'shadowd.js');

export interface Run { code: number; stdout: string; stderr: string }

/** Runs `shadowd ARGS` to its exit (never rejects). */
export function shadowd(args: string[], cwd?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [shadowdBin, ...args], { cwd, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

export async function shadowdOk(args: string[], cwd?: string): Promise<string> {
  const run = await shadowd(args, cwd);
  if (run.code !== 0) throw new Error(`shadowd ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

export interface LogLine { event?: string; msg?: string; device?: string; [field: string]: unknown }

export class ShadowdService {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters = new Set<() => void>();

  constructor(args: string[], cwd: string) {
    this.child = spawn(process.execPath, [shadowdBin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try { this.lines.push(JSON.parse(line) as LogLine); } catch { this.lines.push({ msg: line, event: 'not-json' }); }
      }
      for (const wake of this.#waiters) wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => { this.stderr.push(chunk.toString('utf8')); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => { for (const wake of this.#waiters) wake(); resolve({ code, signal }); }));
  }

  waitFor(match: (line: LogLine) => boolean, deadlineMs = 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (found) { done(); resolve(found); } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done(); reject(new Error(`shadowd exited (${this.child.exitCode ?? this.child.signalCode}) first; stderr: ${this.stderr.join('')}`));
        }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no such log line within ${deadlineMs} ms; last: ${JSON.stringify(this.lines.slice(-3))}`)); }, deadlineMs);
      const done = () => { clearTimeout(timer); this.#waiters.delete(check); };
      this.#waiters.add(check);
      check();
    });
  }

  ready(): Promise<LogLine> {
    return this.waitFor((l) => l.event === 'ready');
  }

  /** SIGTERM and the exit; one that does not stop in time is killed (the code then fails the test). */
  async stop(deadlineMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), deadlineMs);
    try { return await this.exited; } finally { clearTimeout(timer); }
  }
}
