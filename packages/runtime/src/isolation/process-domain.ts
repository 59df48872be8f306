/**
 * A domain in a child process: the strongest isolation. Native crashes, aborts and
 * out-of-memory of the driver end only the child. The kernel's host resources are passed as
 * inherited descriptors, so the kernel keeps holding them when the child dies.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { grantsFor, type Domain, type DomainExit, type DomainOptions, type Sandbox } from './domain.js';
import type { ResourceGrant, ToDomain } from './protocol.js';

const entry = fileURLToPath(new URL('./process-entry.js', import.meta.url));
const FIRST_EXTRA_FD = 4; // 0-2 stdio, 3 the IPC channel

/** The last line of the driver's stderr that looks like an error, to say why it died. */
function lastError(tail: string): string {
  const line = tail.split('\n').reverse().find((l) => /error|denied|abort|fatal/i.test(l) && !/ExperimentalWarning/.test(l));
  return line ? `: ${line.trim().slice(0, 300)}` : '';
}

/** Node's permission model: no child processes, no workers, file access only as listed. */
function sandboxFlags(sandbox: Sandbox | undefined): string[] {
  if (!sandbox) return [];
  return [
    '--experimental-permission',
    ...sandbox.allowFsRead.map((p) => `--allow-fs-read=${p}`),
    ...sandbox.allowFsWrite.map((p) => `--allow-fs-write=${p}`),
    ...(sandbox.allowAddons ? ['--allow-addons'] : []),
  ];
}

export class ProcessDomain implements Domain {
  readonly kind = 'process' as const;
  readonly sharesMemory = false;
  readonly grants: ResourceGrant[];
  readonly #child: ChildProcess;
  readonly #gone: Promise<void>;
  #exitListener: ((exit: DomainExit) => void) | undefined;
  #stderrTail = '';
  #killed = false;
  #output: ((stream: 'stdout' | 'stderr', chunk: string) => void) | undefined;

  constructor(options: DomainOptions) {
    const passed = options.resources.filter((r) => r.fd >= 0);
    this.grants = grantsFor(passed, (i) => FIRST_EXTRA_FD + i);
    this.#child = fork(entry, [], {
      // stdout and stderr are captured: the driver's lines reach the operator as log events.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc', ...passed.map((r) => r.fd)],
      serialization: 'advanced',
      execArgv: [`--max-old-space-size=${options.memoryLimitMb}`, ...sandboxFlags(options.sandbox)],
    });
    // Keep the end of stderr: it tells an out-of-memory death from other aborts.
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-4096);
      this.#output?.('stderr', chunk);
    });
    this.#child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#output?.('stdout', chunk));
    this.#gone = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        resolve();
        if (this.#killed) return;
        const oom = /heap out of memory|Allocation failed/i.test(this.#stderrTail);
        this.#exitListener?.({
          kind: oom ? 'memory' : 'exit',
          message: `driver process ${signal ? `killed by ${signal}` : `exited with code ${code}`}` +
            (oom ? ' (out of memory)' : '') + lastError(this.#stderrTail),
        });
      });
    });
    this.#child.on('error', () => { /* reported through 'exit' */ });
  }

  send(batch: ToDomain[]): void {
    if (this.#killed || !this.#child.connected) return;
    this.#child.send(batch, (err) => { void err; /* a dead child is reported through 'exit' */ });
  }

  onMessage(listener: (batch: unknown) => void): void {
    this.#child.on('message', (m) => listener(m));
  }

  onExit(listener: (exit: DomainExit) => void): void {
    this.#exitListener = listener;
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: string) => void): void {
    this.#output = listener;
  }

  /** The child's process id (the benchmark reads its CPU time from /proc). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** SIGKILL from outside: the way the kernel stops a driver that may be spinning. */
  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async kill(): Promise<void> {
    this.#killed = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#gone;
  }
}
