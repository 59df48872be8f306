/** Entry point of a child-process domain. */
import { DomainHost } from './domain-host.js';
import type { ToDomain } from './protocol.js';

if (!process.send) throw new Error('process-entry must run as a forked child with IPC');
// Tells a driver it has this process to itself: what it binds for life (a seccomp filter, as
// the serialport driver installs) binds no host.
process.env.SHADOW_DOMAIN = 'process';
const send = process.send.bind(process);

/** Batches handed to the IPC channel and not yet written to it. */
let unsent = 0;
let exitCode: number | string | null | undefined;
let exiting = false;
const realExit = process.exit.bind(process);

/**
 * process.exit drops what the IPC channel has not yet written: a reply the driver sent just
 * before exiting would be lost and its call failed as never answered. An exit waits until every
 * batch is written (at most 2 s: a kernel that stopped reading must not keep the driver alive).
 */
process.exit = ((code?: number | string | null) => {
  exitCode = code;
  if (unsent === 0) return realExit(code);
  if (!exiting) setTimeout(() => realExit(exitCode), 2000).unref();
  exiting = true;
  return undefined as never;
}) as typeof process.exit;

function sent(): void {
  unsent--;
  if (exiting && unsent === 0) realExit(exitCode);
}

const host = new DomainHost({
  send: (batch) => {
    unsent++;
    send(batch, undefined, undefined, sent);
  },
  exit: (code) => process.exit(code),
  abort: () => process.abort(),
});
/**
 * A driver that failed stops at once, once the kernel has been told: left running until the
 * kernel's SIGKILL lands it goes on taking input from its device (a serial driver's pending read
 * takes bytes from the tty queue) into replies the kernel no longer accepts, and they are lost.
 */
function stop(kind: 'exception' | 'rejection', err: unknown): void {
  host.fatal(kind, err);
  const channel = process.channel as unknown as { writeQueueSize?: number } | undefined;
  if (channel?.writeQueueSize === 0) realExit(70); // the report is in the socket already
  process.exit(70); // waits until the report is written
}
process.on('uncaughtException', (err) => stop('exception', err));
process.on('unhandledRejection', (err) => stop('rejection', err));
process.on('message', (batch: ToDomain[]) => host.receive(batch));
// An orphaned driver must not outlive its kernel.
process.on('disconnect', () => process.exit(0));
