/**
 * A block device's kernel channel over a fake domain: what the kernel sends is recorded as the
 * domain host would take it (packed runs of calls unpacked), and what the test delivers is what
 * the driver's side sent. For unit tests of the channel's side of the wire.
 */
import { blockClass } from '../../src/classes/block/contract.js';
import type { DriverFailure } from '../../src/errors.js';
import type { BulkRegion } from '../../src/isolation/bulk-region.js';
import { DriverChannel } from '../../src/isolation/channel.js';
import type { Domain } from '../../src/isolation/domain.js';
import { unpackCalls } from '../../src/isolation/packed.js';
import type { ResourceGrant, ToDomain, ToDomainWire } from '../../src/isolation/protocol.js';
import { SharedPool } from '../../src/isolation/shared-pool.js';
import { FakeClock } from './fake-clock.js';

export interface FakeDomainOptions {
  /** A thread (shared memory) or a process (a region, when given). */
  kind: 'worker' | 'process';
  region?: BulkRegion;
  grants?: ResourceGrant[];
  service?(name: string, args: unknown): Promise<unknown>;
}

export function blockChannelOn(options: FakeDomainOptions) {
  let deliver: ((batch: unknown) => void) | undefined;
  const sent: ToDomain[] = [];
  const domain = {
    kind: options.kind, sharesMemory: options.kind === 'worker', grants: options.grants ?? [], sandbox: 'none',
    ...(options.region ? { region: { kernel: options.region, fd: 9 } } : {}),
    send: (batch: ToDomainWire[]) => { for (const m of batch) { if (m.t === 'calls') sent.push(...unpackCalls(m)); else sent.push(m); } },
    onMessage: (listener: (batch: unknown) => void) => { deliver = listener; },
    onExit: () => undefined,
    kill: async () => undefined,
  } as unknown as Domain;
  const failures: DriverFailure[] = [];
  const channel = new DriverChannel(domain, {
    contract: blockClass, driverUrl: 'file:///none', extensions: [], clock: new FakeClock(),
    heartbeatMs: 100, heartbeatTimeoutMs: 1000, deadlineScale: 1, pool: new SharedPool(), gone: () => undefined,
  }, { service: options.service ?? (() => Promise.resolve(undefined)), failed: (f) => failures.push(f), deviceGone: () => undefined });
  return { channel, sent, failures, deliver: (batch: unknown) => deliver!(batch) };
}
