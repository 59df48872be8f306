/** Entry point of a worker-thread domain. */
import { parentPort } from 'node:worker_threads';
import { DomainHost } from './domain-host.js';
import type { ToDomain } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('worker-entry must run in a worker thread');

const host = new DomainHost({
  send: (batch) => port.postMessage(batch),
  exit: (code) => process.exit(code),
  // Worker threads cannot abort alone; the closest native-style death is an exit that skips
  // every cleanup handler.
  abort: () => process.exit(134),
});
process.on('uncaughtException', (err) => host.fatal('exception', err));
process.on('unhandledRejection', (err) => host.fatal('rejection', err));
port.on('message', (batch: ToDomain[]) => host.receive(batch));
