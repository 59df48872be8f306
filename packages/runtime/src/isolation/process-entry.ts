/** Entry point of a child-process domain. */
import { DomainHost } from './domain-host.js';
import type { ToDomain } from './protocol.js';

if (!process.send) throw new Error('process-entry must run as a forked child with IPC');
const send = process.send.bind(process);

const host = new DomainHost({
  send: (batch) => { send(batch); },
  exit: (code) => process.exit(code),
  abort: () => process.abort(),
});
process.on('uncaughtException', (err) => host.fatal('exception', err));
process.on('unhandledRejection', (err) => host.fatal('rejection', err));
process.on('message', (batch: ToDomain[]) => host.receive(batch));
// An orphaned driver must not outlive its kernel.
process.on('disconnect', () => process.exit(0));
