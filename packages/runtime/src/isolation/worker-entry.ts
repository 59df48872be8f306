/** Entry point of a worker-thread domain. */
import { parentPort, workerData } from 'node:worker_threads';
import { DomainHost } from './domain-host.js';
import { guardDescriptors } from './fd-guard.js';
import { watchOffHeap } from './off-heap.js';
import type { ToDomainWire } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('worker-entry must run in a worker thread');

const host = new DomainHost({
  send: (batch, transfer) => port.postMessage(batch, transfer),
  serializes: true,
  exit: (code) => process.exit(code),
  // Worker threads cannot abort alone; the closest native-style death is an exit that skips
  // every cleanup handler.
  abort: () => process.exit(134),
});
// Before any driver code runs: the driver shares the host's descriptors (fd-guard.ts).
const guard = guardDescriptors((message) => host.fatal('bad-kernel-call', new Error(message)));
process.on('uncaughtException', (err) => host.fatal('exception', err));
process.on('unhandledRejection', (err) => host.fatal('rejection', err));
const offHeap = watchOffHeap((workerData as { offHeapLimitBytes: number }).offHeapLimitBytes, (why) => host.fatal('memory', new Error(why)));
port.on('message', (batch: ToDomainWire[]) => {
  offHeap.poke();
  for (const m of batch) if (m.t === 'load') guard.lend(m.spec.resources.map((r) => r.fd));
  host.receive(batch);
});
