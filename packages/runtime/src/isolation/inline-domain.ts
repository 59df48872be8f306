/**
 * No isolation: the driver runs in the kernel's own thread and heap. This is the "native"
 * configuration of the paper's comparison, for experiments only: a driver fault here is the
 * host's fault.
 */
import { DomainHost } from './domain-host.js';
import { grantsFor, type Domain, type DomainExit, type DomainOptions } from './domain.js';
import type { ResourceGrant, ToDomainWire } from './protocol.js';

export class InlineDomain implements Domain {
  readonly kind = 'none' as const;
  readonly sandbox = 'none' as const;
  readonly sharesMemory = true;
  readonly grants: ResourceGrant[];
  readonly #host: DomainHost;
  #listener: ((batch: unknown) => void) | undefined;
  #killed = false;

  constructor(options: DomainOptions) {
    this.grants = grantsFor(options.resources, (_i, r) => r.fd);
    this.#host = new DomainHost({
      send: (batch) => { if (!this.#killed) this.#listener?.(batch); },
      exit: (code) => process.exit(code),
      abort: () => process.abort(),
    });
  }

  send(batch: ToDomainWire[]): void {
    if (!this.#killed) this.#host.receive(batch);
  }

  onMessage(listener: (batch: unknown) => void): void {
    this.#listener = listener;
  }

  onExit(_listener: (exit: DomainExit) => void): void {
    // An inline driver cannot exit without taking the kernel with it.
  }

  async kill(): Promise<void> {
    this.#killed = true;
    this.#host.stop();
  }
}
