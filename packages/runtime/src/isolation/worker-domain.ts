/** A domain in a worker thread: its own heap with a hard limit, shared memory for bulk data. */
import { Worker } from 'node:worker_threads';
import type { FailureKind } from '../errors.js';
import { offHeapLimitBytes } from './off-heap.js';
import { grantsFor, type Domain, type DomainExit, type DomainOptions, type HostResource } from './domain.js';
import type { ResourceGrant, ToDomainWire } from './protocol.js';
import { bootReply } from './spare-boot.js';

const entry = new URL('./worker-entry.js', import.meta.url);

export class WorkerDomain implements Domain {
  readonly kind = 'worker' as const;
  // Isolates faults, not attacks: the driver shares the host's process, descriptors and environment.
  readonly sandbox = 'none' as const;
  readonly sharesMemory = true;
  #grants: ResourceGrant[];
  readonly #worker: Worker;
  readonly #gone: Promise<void>;
  #exitListener: ((exit: DomainExit) => void) | undefined;
  #lastError: { kind: FailureKind; message: string } | undefined;
  #killed = false;
  #output: ((stream: 'stdout' | 'stderr', chunk: string) => void) | undefined;

  constructor(options: DomainOptions) {
    // Descriptors are per process, so the worker uses the kernel's own numbers.
    this.#grants = grantsFor(options.resources, (_i, r) => r.fd);
    this.#worker = new Worker(entry, {
      resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb, maxYoungGenerationSizeMb: 16 },
      workerData: { offHeapLimitBytes: offHeapLimitBytes(options.memoryLimitMb) },
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

  get grants(): ResourceGrant[] {
    return this.#grants;
  }

  /**
   * A spare started before its device was known (spare-domains.ts) gets the device's resources
   * when it is taken, before its driver is loaded.
   */
  lend(resources: HostResource[]): void {
    this.#grants = grantsFor(resources, (_i, r) => r.fd);
  }

  /**
   * Resolves once the domain's entry has run and has imported `preload` (a driver and its
   * extensions: see the `preload` message); rejects if it ends first. For spares only, before
   * any channel listens.
   */
  booted(preload: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (batch: unknown) => {
        const reply = bootReply(batch);
        if (reply === undefined) return;
        this.#worker.off('message', onMessage);
        this.#worker.off('exit', onExit);
        if (reply === 'fault') reject(new Error('the spare domain failed while its driver was imported'));
        else resolve();
      };
      const onExit = () => {
        this.#worker.off('message', onMessage);
        reject(new Error(this.#lastError?.message ?? 'the spare domain ended while it started'));
      };
      this.#worker.on('message', onMessage);
      this.#worker.once('exit', onExit);
      this.send([{ t: 'preload', urls: preload, seq: 0 }]);
    });
  }

  send(batch: ToDomainWire[]): void {
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
