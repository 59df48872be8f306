/** What `shadowd status` tells of one device: the runtime's status and the service's counts. */
import type { Runtime } from '../runtime.js';
import type { DeviceConfig } from './config-schema.js';
import type { DeviceStats } from './device-stats.js';
import type { Started } from './device-start.js';

type DriverStatus = NonNullable<ReturnType<Runtime['status']>>;

export interface DeviceStatus {
  device: string;
  class: string;
  driver: string;
  fallbackDriver: string | null;
  domain: string;
  /** The driver's process (process domains), else null. */
  pid: number | null;
  recovery: string;
  /** running, recovering, gave-up, starting, or detached (by the operator). */
  state: string;
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
    device: name, class: config.class, driver: config.driver, fallbackDriver: config.fallbackDriver ?? null,
    domain: driver?.domain ?? config.domain ?? 'worker', pid: attached ? driver.pid ?? null : null,
    recovery: driver?.recovery ?? config.recovery ?? 'shadow',
    state: attached ? driver.state : 'detached',
    uptimeSeconds: attached ? Math.round((Date.now() - stats.attachedAt) / 100) / 10 : 0,
    requests: net ? net.sent : stats.requests, errors: stats.errors, inFlight: stats.inFlight,
    bytesRead: stats.bytesRead, bytesWritten: stats.bytesWritten, failures: stats.failures,
    recoveries: Object.values(stats.recoveriesByCause).reduce((a, b) => a + b, 0), recoveriesByCause: { ...stats.recoveriesByCause },
    lastFailure: stats.lastFailure ?? null, quarantined: stats.quarantined, gaveUp: stats.gaveUp ?? null,
    standby: attached ? driver.standby : 'none', frontend: started?.frontend?.addresses ?? [],
    version: attached ? driver.version : null, lastUpdate: attached ? driver.lastUpdate ?? null : null,
  };
}

/** The table `shadowd status` prints. */
export function statusTable(statuses: DeviceStatus[]): string {
  const rows = [['DEVICE', 'CLASS', 'DRIVER', 'DOMAIN', 'PID', 'STATE', 'UPTIME', 'REQUESTS', 'IN-FLIGHT', 'RECOVERIES', 'LAST FAILURE', 'QUARANTINED', 'STANDBY', 'LAST UPDATE']];
  for (const s of statuses) {
    const causes = Object.entries(s.recoveriesByCause).map(([c, n]) => `${c}:${n}`).join(',');
    const update = s.lastUpdate ? `${s.lastUpdate.outcome} ${s.lastUpdate.from}->${s.lastUpdate.to}${s.lastUpdate.cause ? ` (${s.lastUpdate.cause})` : ''}` : '-';
    rows.push([s.device, s.class, s.version ?? s.driver, s.domain, String(s.pid ?? '-'), s.state, `${s.uptimeSeconds}s`, String(s.requests), String(s.inFlight),
      s.recoveries ? `${s.recoveries} (${causes})` : '0', s.lastFailure ? `${s.lastFailure.at} ${s.lastFailure.cause}` : '-', String(s.quarantined), s.standby, update]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
