/**
 * What the service counts per device, for `shadowd status` and the metrics: requests served
 * and in flight (counted where the frontend calls the device), recoveries by cause, the last
 * failure, quarantined requests. One record per device name; it outlives a restart by the
 * operator (the device's history), and is dropped when the device is removed from the config.
 */
import { Tally } from '../classes/tally.js';
import type { FailureEvent, QuarantineEvent, RecoveryEvent } from '../observe/channels.js';

export interface DeviceStats {
  attachedAt: number;
  requests: number;
  errors: number;
  inFlight: number;
  /** Bytes read and written, counted where fields would not stay fast (classes/tally.ts). */
  readonly bytes: Tally<'read' | 'written'>;
  failures: number;
  recoveriesByCause: Record<string, number>;
  lastFailure: { at: string; cause: string; message: string } | undefined;
  quarantined: number;
  gaveUp: { at: string; reason: string } | undefined;
}

export function newStats(now = Date.now()): DeviceStats {
  return {
    attachedAt: now, requests: 0, errors: 0, inFlight: 0, bytes: new Tally(['read', 'written']), failures: 0,
    recoveriesByCause: {}, lastFailure: undefined, quarantined: 0, gaveUp: undefined,
  };
}

export const BYTES_READ = 0, BYTES_WRITTEN = 1;

export function onFailure(stats: DeviceStats, e: FailureEvent): void {
  stats.failures++;
  stats.lastFailure = { at: new Date().toISOString(), cause: e.kind, message: e.message };
}

export function onRecovery(stats: DeviceStats, e: RecoveryEvent): void {
  stats.recoveriesByCause[e.cause] = (stats.recoveriesByCause[e.cause] ?? 0) + 1;
}

export function onQuarantine(stats: DeviceStats, _e: QuarantineEvent): void {
  stats.quarantined++;
}
