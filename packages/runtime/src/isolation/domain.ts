/**
 * An isolation domain: where a driver runs, apart from the kernel's heap. Three kinds behind
 * one interface: `worker` (a worker thread with memory limits), `process` (a child process:
 * survives native crashes, aborts and out-of-memory of the driver) and `none` (in the
 * kernel's own thread: no isolation, the "native" baseline for experiments only).
 */
import type { FailureKind } from '../errors.js';
import type { BulkRegion } from './bulk-region.js';
import type { ResourceGrant, ToDomainWire } from './protocol.js';

export type DomainKind = 'worker' | 'process' | 'none';

export const domainKinds: readonly DomainKind[] = ['worker', 'process', 'none'];

/** A resource the kernel opened and holds: a grant whose descriptor is the kernel's own. */
export type HostResource = ResourceGrant;

export interface DomainExit {
  kind: FailureKind;
  message: string;
}

export interface DomainOptions {
  resources: HostResource[];
  /** Heap limit for the driver's domain; exceeding it is a `memory` failure. */
  memoryLimitMb: number;
  /**
   * Process domains run inside bubblewrap (when usable) and under Node's permission model:
   * the driver may read only these paths (its own code) and write none but these. Host
   * resources reach it as open descriptors. `undefined` runs the process without a sandbox.
   */
  sandbox: Sandbox | undefined;
}

export interface Sandbox {
  allowFsRead: string[];
  allowFsWrite: string[];
  /** Native addons (koffi, for drivers that make system calls on a lent descriptor). */
  allowAddons?: boolean;
  /** The host's network (the driver's manifest says it needs one); else loopback only, its own. */
  network?: boolean;
  /** Unix sockets the driver connects to: their folders are made visible to it. */
  sockets?: string[];
  /** Run inside bubblewrap when it is usable here (default true); false: the permission model alone. */
  bubblewrap?: boolean;
}

/**
 * How a domain is walled in: `bubblewrap` (own namespaces, a read-only view, then Node's
 * permission model inside), `permission-model` (Node's permission model alone: it does not
 * stop signals, sockets or reading the environment on Node 20), `none` (worker and inline
 * domains, or a process domain with `sandbox: false`).
 */
export type SandboxKind = 'bubblewrap' | 'permission-model' | 'none';

export interface Domain {
  readonly kind: DomainKind;
  /** Bulk data may travel as shared memory (SharedArrayBuffer views). */
  readonly sharesMemory: boolean;
  /** The host resources as the code inside the domain sees them. */
  readonly grants: ResourceGrant[];
  /**
   * Where bulk data crosses when memory is not shared (a process domain): the kernel's region
   * and its descriptor inside the domain. Owned by the domain; it goes when the domain has gone.
   */
  readonly region?: { kernel: BulkRegion; fd: number };
  /** The wall around the driver's code (see SandboxKind). */
  readonly sandbox: SandboxKind;
  send(batch: ToDomainWire[]): void;
  onMessage(listener: (batch: unknown) => void): void;
  /** Raw batches as the domain sent them: the channel decodes them (decode.ts) before use. */
  /** Called once when the domain ends for any reason other than `kill()`. */
  onExit(listener: (exit: DomainExit) => void): void;
  /**
   * Ends the domain; resolves when it is gone. Safe to call more than once. With `graceMs`, a
   * domain whose driver may hold what the kernel wants back (a serial read's bytes, taken off
   * the tty and not yet replied) is first asked to end by itself (a `retire` message), between
   * two of its tasks, and killed only if it has not within the grace. Domains that cannot
   * retire so ignore it.
   */
  kill(graceMs?: number): Promise<void>;
  /**
   * A domain several drivers share (domain-group.ts): this driver's part ends in order and
   * the others go on (a detach, an old version after a live update). Absent: `kill` ends it.
   */
  release?(): Promise<void>;
  /**
   * What the driver writes to its stdout and stderr, as text chunks (worker and process
   * domains capture both: nothing a driver writes reaches the host's output unprefixed).
   */
  onOutput?(listener: (stream: 'stdout' | 'stderr', chunk: string) => void): void;
}

export function grantsFor(resources: HostResource[], fdInDomain: (index: number, r: HostResource) => number): ResourceGrant[] {
  return resources.map((r, i) => ({ ...r, fd: fdInDomain(i, r) }));
}
