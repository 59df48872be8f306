/**
 * A domain in a child process: the strongest isolation. Native crashes, aborts and
 * out-of-memory of the driver end only the child. The kernel's host resources are passed as
 * inherited descriptors, so the kernel keeps holding them when the child dies.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BWRAP, bubblewrapArgs, bubblewrapUsable } from './bubblewrap.js';
import { BulkRegion } from './bulk-region.js';
import { FrameReader, writeFrame } from './frames.js';
import { offHeapLimitBytes } from './off-heap.js';
import { grantsFor, type Domain, type DomainExit, type DomainOptions, type HostResource, type Sandbox, type SandboxKind } from './domain.js';
import { bootReply } from './spare-boot.js';
import type { ResourceGrant, ToDomainWire } from './protocol.js';

const entry = fileURLToPath(new URL('./process-entry.js', import.meta.url));
const FIRST_EXTRA_FD = 4; // 0 the wire from the kernel, 1-2 output, 3 the wire to the kernel (frames.ts)

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

/** The environment of a sandboxed driver without bubblewrap: none of the host's variables (its secrets). */
const bareEnv = { PATH: '/usr/bin:/bin', HOME: '/nonexistent' };

let warned = false;

/** Said once per process: the operator should know the outer wall is missing. */
function warnOnce(): void {
  if (warned) return;
  warned = true;
  process.emitWarning('bubblewrap (/usr/bin/bwrap) is absent or cannot make namespaces here: process-domain drivers run under ' +
    "Node's permission model alone, which does not stop signals, sockets or reading the environment", { code: 'SD_WARN_NO_BUBBLEWRAP' });
}

/** Starts the driver's process, walled in as the sandbox asks and this machine allows. */
function start(options: DomainOptions, stdio: StdioOptions): { child: ChildProcess; sandbox: SandboxKind } {
  const sandbox = options.sandbox;
  const execArgv = [`--max-old-space-size=${options.memoryLimitMb}`, ...sandboxFlags(sandbox)];
  // After the entry: the buffers its driver may hold outside its heap (off-heap.ts).
  const node = [...execArgv, entry, String(offHeapLimitBytes(options.memoryLimitMb))];
  if (sandbox && sandbox.bubblewrap !== false && bubblewrapUsable()) {
    const args = bubblewrapArgs(sandbox, options.memoryLimitMb, node);
    return { child: spawn(BWRAP, args, { stdio, env: {} }), sandbox: 'bubblewrap' };
  }
  if (sandbox && sandbox.bubblewrap !== false) warnOnce();
  return {
    child: spawn(process.execPath, node, { stdio, ...(sandbox ? { env: bareEnv } : {}) }),
    sandbox: sandbox ? 'permission-model' : 'none',
  };
}

function firstChild(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined; // gone meanwhile
  }
}

export class ProcessDomain implements Domain {
  readonly kind = 'process' as const;
  readonly sharesMemory = false;
  #grants: ResourceGrant[];
  readonly sandbox: SandboxKind;
  readonly region: { kernel: BulkRegion; fd: number };
  readonly #child: ChildProcess;
  /**
   * The wire, one socket per direction (frames.ts): the kernel writes the driver's descriptor 0
   * and reads its descriptor 3. Apart, because a socket whose write fails (the driver has just
   * exited) is destroyed with what it had not read yet: the driver's last report would be lost.
   */
  readonly #toDriver: Socket;
  readonly #fromDriver: Socket;
  readonly #gone: Promise<void>;
  /** The wire held bytes that are not a frame: the driver was reported, its exit is not news. */
  #malformed = false;
  /** Who reads the driver's batches: the channel. */
  #listener: ((batch: unknown) => void) | undefined;
  /** A spare's boot, waiting for its answer to `preload` (it may be taken, and a channel listen, before it comes). */
  #boot: ((batch: unknown) => void) | undefined;
  #exitListener: ((exit: DomainExit) => void) | undefined;
  #stderrTail = '';
  #killed = false;
  #driverPid: number | undefined;
  #output: ((stream: 'stdout' | 'stderr', chunk: string) => void) | undefined;

  constructor(options: DomainOptions) {
    const passed = options.resources.filter((r) => r.fd >= 0);
    this.#grants = grantsFor(passed, (i) => FIRST_EXTRA_FD + i);
    const region = new BulkRegion();
    this.region = { kernel: region, fd: FIRST_EXTRA_FD + passed.length };
    // stdout and stderr are captured: the driver's lines reach the operator as log events.
    let started: ReturnType<typeof start>;
    try {
      started = start(options, ['pipe', 'pipe', 'pipe', 'pipe', ...passed.map((r) => r.fd), region.fd]);
    } catch (err) {
      region.close();
      throw err;
    }
    this.#child = started.child;
    this.#toDriver = started.child.stdio[0] as Socket;
    this.#fromDriver = started.child.stdio[3] as Socket;
    // A dead child is reported through 'close'.
    this.#toDriver.on('error', () => undefined);
    this.#fromDriver.on('error', () => undefined);
    this.sandbox = started.sandbox;
    // Keep the end of stderr: it tells an out-of-memory death from other aborts.
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-4096);
      this.#output?.('stderr', chunk);
    });
    this.#child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#output?.('stdout', chunk));
    this.#gone = new Promise((resolve) => {
      // 'close', not 'exit': 'exit' may come while the child's stderr and wire still hold
      // data, so the last reply a driver sent before it died would be lost (its call failed as
      // if never answered) and the stderr tail that says why it died would be cut short.
      this.#child.once('close', (code, signal) => {
        // Every message the driver sent has been read: nothing can point into the region now.
        region.close();
        resolve();
        if (this.#killed || this.#malformed) return;
        const oom = /heap out of memory|Allocation failed/i.test(this.#stderrTail);
        this.#exitListener?.({
          kind: oom ? 'memory' : 'exit',
          message: `driver process ${signal ? `killed by ${signal}` : `exited with code ${code}`}` +
            (oom ? ' (out of memory)' : '') + lastError(this.#stderrTail),
        });
      });
    });
    this.#child.on('error', () => { /* reported through 'exit' */ });
    this.#read();
  }

  get grants(): ResourceGrant[] {
    return this.#grants;
  }

  /**
   * A spare started before its device was known (spare-domains.ts) gets the device's resources
   * when it is taken. Only resources without a descriptor: a running node process cannot be
   * handed one (the manager starts devices that have descriptors in a domain of their own).
   */
  lend(resources: HostResource[]): void {
    // As at a start: what has no descriptor is not passed to a process (the constructor's `passed`).
    if (resources.some((r) => r.fd >= 0)) throw new Error('a started process domain cannot be lent descriptors');
    this.#grants = [];
  }

  /**
   * Resolves once the domain's entry has run and has imported `preload` (see WorkerDomain.booted);
   * rejects if it ends first. For spares only, before any channel listens.
   */
  booted(preload: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#boot = (batch) => {
        const reply = bootReply(batch);
        if (reply === undefined) return;
        this.#boot = undefined;
        if (reply === 'fault') reject(new Error('the spare domain failed while its driver was imported'));
        else resolve();
      };
      void this.#gone.then(() => reject(new Error(`the spare domain ended while it started${lastError(this.#stderrTail)}`)));
      this.send([{ t: 'preload', urls: preload, seq: 0 }]);
    });
  }

  send(batch: ToDomainWire[]): void {
    if (this.#killed || this.#malformed || !this.#toDriver.writable) return;
    writeFrame(this.#toDriver, batch);
  }

  /** Every frame the driver writes, deserialized; bytes that are not a frame end it as a contract failure. */
  onMessage(listener: (batch: unknown) => void): void {
    this.#listener = listener;
  }

  /** Reads the wire from the start: frames a spare's driver sends before its channel listens go to its boot. */
  #read(): void {
    const reader = new FrameReader();
    this.#fromDriver.on('data', (chunk: Buffer) => {
      // Frames still come after kill() until the process is gone: a failed driver's late
      // replies (a read that took bytes off a tty's queue) are the class's to keep.
      if (this.#malformed) return;
      const { values, problem } = reader.push(chunk);
      for (const batch of values) {
        this.#boot?.(batch);
        this.#listener?.(batch);
      }
      if (problem === undefined || this.#killed) return;
      this.#malformed = true;
      this.#exitListener?.({ kind: 'contract', message: `malformed message from the driver: ${problem}` });
    });
  }

  onExit(listener: (exit: DomainExit) => void): void {
    this.#exitListener = listener;
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: string) => void): void {
    this.#output = listener;
  }

  /**
   * The driver's process id on the host (the benchmark reads its CPU time from /proc): in a
   * bubblewrap sandbox, node runs under bwrap and its pid-namespace init, so the last of that line.
   */
  get pid(): number | undefined {
    const pid = this.#child.pid;
    if (this.sandbox !== 'bubblewrap' || pid === undefined) return pid;
    // bwrap, then its pid-namespace init, then node: found once and kept (a line cut short is a
    // driver starting or already dead, never an intermediate process to report in its place).
    if (this.#driverPid === undefined) {
      const init = firstChild(pid);
      this.#driverPid = init === undefined ? undefined : firstChild(init);
    }
    return this.#driverPid;
  }

  /** SIGKILL from outside: the way the kernel stops a driver that may be spinning. */
  signal(signal: NodeJS.Signals): void {
    // In a bubblewrap sandbox the child is bwrap: the driver would outlive it for a moment (until
    // its namespace's init dies) and go on serving. The driver's own process gets the signal.
    const driver = this.sandbox === 'bubblewrap' ? this.pid : undefined;
    if (driver !== undefined) {
      try {
        process.kill(driver, signal);
        return;
      } catch {
        // already gone: bwrap follows
      }
    }
    this.#child.kill(signal);
  }

  async kill(graceMs?: number): Promise<void> {
    const alive = () => this.#child.exitCode === null && this.#child.signalCode === null;
    if (graceMs !== undefined && graceMs > 0 && !this.#killed && !this.#malformed && alive() && this.#toDriver.writable) {
      // A SIGKILL lands anywhere: between a read() that took a tty's bytes and the reply that
      // carries them, they are lost. Asked to retire, the driver's process ends between two
      // tasks, once what it has sent is written (process-entry.ts).
      writeFrame(this.#toDriver, [{ t: 'retire' }]);
      this.#killed = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#gone, new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); })]);
      clearTimeout(timer);
    }
    this.#killed = true;
    if (alive()) this.#child.kill('SIGKILL');
    await this.#gone;
  }
}
