/**
 * What every frontend gives the supervisor: where the world reaches the device, and one
 * close() that drains what is in flight and leaves nothing behind (its sockets unlinked).
 */
import { lstatSync, rmSync } from 'node:fs';
import { addressPattern } from './config-schema.js';

export interface Frontend {
  /** Where clients reach the device (URLs, for the log and `shadowd status`). */
  readonly addresses: string[];
  close(): Promise<void>;
}

/** A leftover socket from a service that died (hostProblems checked nobody answers) goes first. */
export function removeLeftoverSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) rmSync(path, { force: true });
  } catch { /* nothing there */ }
}

export function splitAddress(address: string): { host: string; port: number } {
  const m = addressPattern.exec(address)!;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
