/**
 * Entry point of a child-process domain. Its wire (frames.ts): frames from the kernel on
 * descriptor 0, frames to it on descriptor 3.
 */
import { Socket } from 'node:net';
import { DomainHost } from './domain-host.js';
import { FrameReader, writeFrame } from './frames.js';
import { watchOffHeap } from './off-heap.js';
import type { FaultKind, ToDomainWire } from './protocol.js';

// Tells a driver it has this process to itself: what it binds for life (a seccomp filter, as
// the serialport driver installs) binds no host.
process.env.SHADOW_DOMAIN = 'process';
const fromKernel = new Socket({ fd: 0, readable: true, writable: false });
const wire = new Socket({ fd: 3, readable: false, writable: true });

/** Batches handed to the wire and not yet written to it. */
let unsent = 0;
let exitCode: number | string | null | undefined;
let exiting = false;
const realExit = process.exit.bind(process);

/**
 * process.exit drops what the wire has not yet written: a reply the driver sent just before
 * exiting would be lost and its call failed as never answered. An exit waits until every
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
    writeFrame(wire, batch, sent);
  },
  serializes: true,
  exit: (code) => process.exit(code),
  abort: () => process.abort(),
});
/**
 * A driver that failed stops at once, once the kernel has been told: left running until the
 * kernel's SIGKILL lands it goes on taking input from its device (a serial driver's pending read
 * takes bytes from the tty queue) into replies the kernel no longer accepts, and they are lost.
 */
function stop(kind: FaultKind, err: unknown): void {
  host.fatal(kind, err);
  const queued = (wire as unknown as { _handle?: { writeQueueSize?: number } })._handle?.writeQueueSize;
  if (unsent === 0 || (queued === 0 && wire.writableLength === 0)) realExit(70); // the report is in the socket already
  process.exit(70); // waits until the report is written
}
process.on('uncaughtException', (err) => stop('exception', err));
process.on('unhandledRejection', (err) => stop('rejection', err));
// The limit comes after the entry's path on its command line (process-domain.ts).
const offHeap = watchOffHeap(Number(process.argv[2]), (why) => stop('memory', new Error(why)));
const reader = new FrameReader();
fromKernel.on('data', (chunk: Buffer) => {
  offHeap.poke();
  for (const batch of reader.push(chunk).values) host.receive(batch as ToDomainWire[]);
});
// An orphaned driver must not outlive its kernel.
fromKernel.on('end', () => process.exit(0));
fromKernel.on('error', () => process.exit(0));
wire.on('error', () => process.exit(0));
