/** A domain in a worker thread: its own heap with a hard limit, shared memory for bulk data. */
import { Worker } from 'node:worker_threads';
import type { FailureKind } from '../errors.js';
import { grantsFor, type Domain, type DomainExit, type DomainOptions } from './domain.js';
import type { ResourceGrant, ToDomain } from './protocol.js';

const entry = new URL('./worker-entry.js', import.meta.url);

export class WorkerDomain implements Domain {
  readonly kind = 'worker' as const;
  // Isolates faults, not attacks: the driver shares the host's process, descriptors and environment.
  readonly sandbox = 'none' as const;
  readonly sharesMemory = true;
  readonly grants: ResourceGrant[];
  readonly #worker: Worker;
  readonly #gone: Promise<void>;
  #exitListener: ((exit: DomainExit) => void) | undefined;
  #lastError: { kind: FailureKind; message: string } | undefined;
  #killed = false;
  #output: ((stream: 'stdout' | 'stderr', chunk: string) => void) | undefined;

  constructor(options: DomainOptions) {
    // Descriptors are per process, so the worker uses the kernel's own numbers.
    this.grants = grantsFor(options.resources, (_i, r) => r.fd);
    this.#worker = new Worker(entry, {
      resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb, maxYoungGenerationSizeMb: 16 },
      // Captured, not passed to the host's own streams: the driver's lines become log events.
      stdout: true,
      stderr: true,
    });
    this.#worker.stdout.setEncoding('utf8').on('data', (chunk: string) => this.#output?.('stdout', chunk));
    this.#worker.stderr.setEncoding('utf8').on('data', (chunk: string) => this.#output?.('stderr', chunk));
    this.#worker.on('error', (err: Error & { code?: string }) => {
      this.#lastError = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { kind: 'memory', message: err.message }
        : { kind: 'exception', message: err.message };
    });
    this.#gone = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        resolve();
        if (this.#killed) return;
        this.#exitListener?.(this.#lastError ?? { kind: 'exit', message: `worker exited with code ${code}` });
      });
    });
  }

  send(batch: ToDomain[]): void {
    if (!this.#killed) this.#worker.postMessage(batch);
  }

  onMessage(listener: (batch: unknown) => void): void {
    this.#worker.on('message', listener);
  }

  onExit(listener: (exit: DomainExit) => void): void {
    this.#exitListener = listener;
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: string) => void): void {
    this.#output = listener;
  }

  async kill(): Promise<void> {
    this.#killed = true;
    await this.#worker.terminate();
    await this.#gone;
  }
}
