/**
 * A device-level fault scenario: the device itself misbehaves (a disk that answers EIO, a
 * server that stalls), not the driver. It runs like a campaign application, in each of the
 * three configurations, and states as data what the class contract says should happen; the
 * trial is ok when the application saw exactly that and its output verified.
 */
import type { AppContext } from '../apps/context.js';
import type { AppReport } from '../types.js';

export interface DeviceScenario {
  /** The scenario's name, which trial ids and `--apps` use. */
  name: string;
  className: 'block' | 'net' | 'sound';
  /** What happens to the device, in a line. */
  fault: string;
  /** How the runtime should handle it, in a line (the report's "expected" column). */
  expected: string;
  run(context: AppContext): Promise<AppReport>;
  /** Left out of the quick plan (CI), with the reason; the full plan runs every scenario. */
  notQuick?: string;
}

/** Counts the target device's driver failures and recoveries while a scenario runs. */
export function watchDriver(context: AppContext, device: string): { failures: number; recoveries: number } {
  const seen = { failures: 0, recoveries: 0 };
  context.rt.manager.on('failure', (e: { device: string; duringRecovery?: boolean }) => { if (e.device === device && !e.duringRecovery) seen.failures++; });
  context.rt.manager.on('recovery', (e: { device: string }) => { if (e.device === device) seen.recoveries++; });
  return seen;
}
