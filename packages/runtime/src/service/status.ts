/** What `shadowd status` tells of one device: the runtime's status and the service's counts. */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '../runtime.js';
import type { DeviceConfig } from './config-schema.js';
import { BYTES_READ, BYTES_WRITTEN, type DeviceStats } from './device-stats.js';
import type { Started } from './device-start.js';

type DriverStatus = NonNullable<ReturnType<Runtime['status']>>;

/** The version of shadow-drivers this service runs (the built-in drivers ship with it). */
export const runtimeVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The module file a driver named by path or URL loads from (as the catalogue resolves it), else null. */
export function driverModule(driver: string): string | null {
  if (driver.startsWith('file:')) return fileURLToPath(driver);
  if (driver.startsWith('data:')) return 'data: URL';
  if (driver.includes('/') || driver.endsWith('.js')) return isAbsolute(driver) ? driver : resolve(driver);
  return null;
}

export interface DeviceStatus {
  device: string;
  class: string;
  /** The driver running now: its manifest name, or the module path the config named. */
  driver: string;
  /** Where a driver named by path loads from (absolute), or null for a built-in manifest. */
  driverModule: string | null;
  /** The runtime's package version (built-in drivers are versioned with it). */
  runtimeVersion: string;
  fallbackDriver: string | null;
  domain: string;
  /** The driver's process (process domains), else null. */
  pid: number | null;
  recovery: string;
  /** running, recovering, gave-up, starting, or detached (by the operator). */
  state: string;
  /** When the device was last attached (ISO time), null while detached. */
  attachedAt: string | null;
  uptimeSeconds: number;
  requests: number;
  errors: number;
  inFlight: number;
  bytesRead: number;
  bytesWritten: number;
  failures: number;
  recoveries: number;
  recoveriesByCause: Record<string, number>;
  lastFailure: DeviceStats['lastFailure'] | null;
  quarantined: number;
  gaveUp: DeviceStats['gaveUp'] | null;
  standby: string;
  /** The domain group whose worker thread the driver shares, null when none. */
  domainGroup: string | null;
  frontend: string[];
  /** The version the driver runs now (manifest name or module URL), null when detached. */
  version: string | null;
  /** The last live update: its outcome, versions, and cause when it rolled back. */
  lastUpdate: DriverStatus['lastUpdate'] | null;
}

export function statusOf(name: string, config: DeviceConfig, state: 'attached' | 'detached', stats: DeviceStats,
  started: Started | undefined, driver: DriverStatus | undefined): DeviceStatus {
  const attached = state === 'attached' && driver !== undefined;
  const net = started?.port?.counters;
  return {
    device: name, class: config.class, driver: driver?.driver ?? config.driver, driverModule: driverModule(driver?.driver ?? config.driver),
    runtimeVersion, fallbackDriver: config.fallbackDriver ?? null,
    domain: driver?.domain ?? config.domain ?? 'worker', pid: attached ? driver.pid ?? null : null,
    recovery: driver?.recovery ?? config.recovery ?? 'shadow',
    state: attached ? driver.state : 'detached',
    attachedAt: attached ? new Date(stats.attachedAt).toISOString() : null,
    uptimeSeconds: attached ? Math.round((Date.now() - stats.attachedAt) / 100) / 10 : 0,
    requests: net ? net.sent : stats.requests, errors: stats.errors, inFlight: stats.inFlight,
    bytesRead: stats.bytes.counts[BYTES_READ]!, bytesWritten: stats.bytes.counts[BYTES_WRITTEN]!, failures: stats.failures,
    recoveries: Object.values(stats.recoveriesByCause).reduce((a, b) => a + b, 0), recoveriesByCause: { ...stats.recoveriesByCause },
    lastFailure: stats.lastFailure ?? null, quarantined: stats.quarantined, gaveUp: stats.gaveUp ?? null,
    standby: attached ? driver.standby : 'none', domainGroup: config.domainGroup ?? null, frontend: started?.frontend?.addresses ?? [],
    version: attached ? driver.version : null, lastUpdate: attached ? driver.lastUpdate ?? null : null,
  };
}

/** The table `shadowd status` prints. */
export function statusTable(statuses: DeviceStatus[]): string {
  const rows = [['DEVICE', 'CLASS', 'DRIVER', 'VERSION', 'DOMAIN', 'PID', 'STATE', 'UPTIME', 'REQUESTS', 'IN-FLIGHT', 'RECOVERIES', 'LAST FAILURE', 'QUARANTINED', 'STANDBY', 'LAST UPDATE']];
  for (const s of statuses) {
    const causes = Object.entries(s.recoveriesByCause).map(([c, n]) => `${c}:${n}`).join(',');
    const update = s.lastUpdate ? `${s.lastUpdate.outcome} ${s.lastUpdate.from}->${s.lastUpdate.to}${s.lastUpdate.cause ? ` (${s.lastUpdate.cause})` : ''}` : '-';
    rows.push([s.device, s.class, s.version ?? s.driverModule ?? s.driver, s.runtimeVersion, s.domain, String(s.pid ?? '-'), s.state, `${s.uptimeSeconds}s`, String(s.requests), String(s.inFlight),
      s.recoveries ? `${s.recoveries} (${causes})` : '0', s.lastFailure ? `${s.lastFailure.at} ${s.lastFailure.cause}` : '-', String(s.quarantined), s.standby, update]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
