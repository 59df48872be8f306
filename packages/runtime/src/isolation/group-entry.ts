/**
 * Entry point of a shared worker domain (domain-group.ts): one thread, one driver instance per
 * device that joined it, each with its own DomainHost on its own message port. What one driver
 * does the thread does: an exception nobody catches, a descriptor it was not lent, an exit, a
 * loop that never yields or a heap that outgrows the limit is every device's failure, and the
 * kernel ends the thread and recovers them all (the paper's driver-wide recovery).
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { DomainHost } from './domain-host.js';
import { guardDescriptors } from './fd-guard.js';
import type { ToDomain } from './protocol.js';

/** What the kernel's side of the group sends on the thread's own port. */
export type GroupControl =
  | { t: 'tenant'; id: number; port: MessagePort }
  | { t: 'drop'; id: number }
  | { t: 'preload'; urls: string[] };

const control = parentPort;
if (!control) throw new Error('group-entry must run in a worker thread');

const tenants = new Map<number, { host: DomainHost; port: MessagePort; fds: Set<number> }>();
/**
 * A fault no call can be blamed on (an exception from a driver's timer, a descriptor it was not
 * lent) is every driver's here: which one it came from cannot be told in one thread.
 */
const everyone = (kind: 'exception' | 'rejection' | 'bad-kernel-call', err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  const shared = new Error(`${message} (in the domain ${tenants.size} devices share: any of their drivers may have caused it)`);
  for (const { host } of tenants.values()) host.fatal(kind, shared);
};
// Before any driver code runs: the drivers share the host's descriptors (fd-guard.ts).
const guard = guardDescriptors((message) => everyone('bad-kernel-call', new Error(message)));
process.on('uncaughtException', (err) => everyone('exception', err));
process.on('unhandledRejection', (err) => everyone('rejection', err));

control.on('message', (m: GroupControl) => {
  switch (m.t) {
    case 'tenant': {
      const port = m.port;
      const host = new DomainHost({
        send: (batch) => port.postMessage(batch),
        exit: (code) => process.exit(code),
        // Worker threads cannot abort alone: an exit that skips every cleanup handler.
        abort: () => process.exit(134),
      });
      const fds = new Set<number>();
      tenants.set(m.id, { host, port, fds });
      port.on('message', (batch: ToDomain[]) => {
        for (const x of batch) {
          if (x.t !== 'load') continue;
          for (const r of x.spec.resources) fds.add(r.fd);
          guard.lend(x.spec.resources.map((r) => r.fd));
        }
        host.receive(batch);
      });
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
      tenant.port.close();
      return;
    }
    case 'preload':
      // A spare thread imports its future drivers ahead, so a recovery only instantiates them.
      void Promise.allSettled(m.urls.map((url) => import(url))).then(() => control.postMessage({ t: 'booted' }));
  }
});
