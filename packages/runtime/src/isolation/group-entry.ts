/**
 * Entry point of a shared worker domain (domain-group.ts): one thread, one driver instance per
 * device that joined it, each with its own DomainHost, their batches multiplexed on the
 * thread's port by the device's number. What one driver does the thread does: an exception
 * nobody catches, a descriptor it was not lent, an exit, a loop that never yields or a heap
 * that outgrows the limit is every device's failure, and the kernel ends the thread and
 * recovers them all (the paper's driver-wide recovery).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DomainHost } from './domain-host.js';
import { guardDescriptors } from './fd-guard.js';
import { watchOffHeap } from './off-heap.js';
import { Outbox } from './outbox.js';
import { GROUP_BATCH_LIMIT, type FromDomainWire, type ToDomainWire } from './protocol.js';

/** What the kernel's side of the group sends on the thread's port. */
export type GroupControl =
  | { t: 'tenant'; id: number }
  | { t: 'drop'; id: number }
  | { t: 'preload'; urls: string[] }
  | { t: 'batches'; items: [number, ToDomainWire[]][] };

/** What the thread sends: its drivers' batches by number, and that its imports are done. */
export type GroupUp = { t: 'batches'; items: [number, FromDomainWire[]][] } | { t: 'booted' };

const control = parentPort;
if (!control) throw new Error('group-entry must run in a worker thread');

const tenants = new Map<number, { host: DomainHost; fds: Set<number> }>();
/**
 * A fault no call can be blamed on (an exception from a driver's timer, a descriptor it was not
 * lent) is every driver's here: which one it came from cannot be told in one thread.
 */
const everyone = (kind: 'exception' | 'rejection' | 'bad-kernel-call' | 'memory', err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  const shared = new Error(`${message} (in the domain ${tenants.size} devices share: any of their drivers may have caused it)`);
  for (const { host } of tenants.values()) host.fatal(kind, shared);
  // Every device of the thread is failed by this: the thread ends at once, as a process domain
  // does, rather than run on until the kernel's terminate lands (with many threads to schedule
  // that took 10 ms). The reports are on the wire first.
  outbox.flush();
  process.exit(70);
};
// Before any driver code runs: the drivers share the host's descriptors (fd-guard.ts).
const guard = guardDescriptors((message) => everyone('bad-kernel-call', new Error(message)));
process.on('uncaughtException', (err) => everyone('exception', err));
process.on('unhandledRejection', (err) => everyone('rejection', err));
const offHeap = watchOffHeap((workerData as { offHeapLimitBytes: number }).offHeapLimitBytes, (why) => everyone('memory', new Error(why)));

/** The drivers' batches, sent together: one message per turn (or per eight), not one per device. */
const outbox = new Outbox<[number, FromDomainWire[]]>(GROUP_BATCH_LIMIT, (items, transfer) => control!.postMessage({ t: 'batches', items } satisfies GroupUp, transfer));
const post = (id: number, batch: FromDomainWire[], transfer?: ArrayBuffer[]): void => outbox.push([id, batch], transfer);

function receive(id: number, batch: ToDomainWire[]): void {
  const tenant = tenants.get(id);
  if (!tenant) return; // dropped: its last batches are nobody's
  for (const x of batch) {
    if (x.t !== 'load') continue;
    for (const r of x.spec.resources) tenant.fds.add(r.fd);
    guard.lend(x.spec.resources.map((r) => r.fd));
  }
  tenant.host.receive(batch);
}

control.on('message', (m: GroupControl) => {
  offHeap.poke();
  switch (m.t) {
    case 'batches':
      for (const [id, batch] of m.items) receive(id, batch);
      return;
    case 'tenant': {
      const id = m.id;
      const host = new DomainHost({
        send: (batch, transfer) => post(id, batch, transfer),
        serializes: true,
        exit: (code) => { outbox.flush(); process.exit(code); },
        // Worker threads cannot abort alone: an exit that skips every cleanup handler.
        abort: () => process.exit(134),
      });
      tenants.set(id, { host, fds: new Set() });
      return;
    }
    case 'drop': {
      // A driver that left in order (its device detached, or replaced by a live update): it
      // serves nothing more and may let go of what it holds (`shutdown`); the descriptors it
      // was lent are refused from now on, unless another driver here was lent them too (the
      // new version of the same device's driver).
      const tenant = tenants.get(m.id);
      tenants.delete(m.id);
      if (!tenant) return;
      const still = new Set([...tenants.values()].flatMap((t) => [...t.fds]));
      guard.withdraw([...tenant.fds].filter((fd) => !still.has(fd)));
      tenant.host.stop();
      return;
    }
    case 'preload':
      // A spare thread imports its future drivers ahead, so a recovery only instantiates them.
      void Promise.allSettled(m.urls.map((url) => import(url))).then(() => control.postMessage({ t: 'booted' } satisfies GroupUp));
  }
});
