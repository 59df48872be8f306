/**
 * The dashboard's view of the service: the supervisor's device statuses (with the requests the
 * frontends counted), its event stream, and the actions under the same rules as the control
 * socket (inject only with faultDrills; update as `shadowd update` without --force).
 */
import type { DashboardSource } from '../dashboard/source.js';
import { catalogNames, normalize } from '../dashboard/source.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import { allFaultKinds } from '../faults/fault-kinds.js';
import type { ServiceEvent, Supervisor } from './supervisor.js';

const asDashboard = (e: ServiceEvent) => normalize(e.type, e);

export function supervisorSource(supervisor: Supervisor, faultDrills: boolean): DashboardSource {
  return {
    faultKinds: faultDrills ? allFaultKinds : [],
    devices: () => supervisor.status().map((s) => ({
      device: s.device, class: s.class, driver: s.driver, domain: s.domain, pid: s.pid, state: s.state, uptimeSeconds: s.uptimeSeconds,
      requests: s.requests, recoveriesByCause: s.recoveriesByCause, quarantined: s.quarantined, gaveUp: s.gaveUp ?? null,
      version: s.version, lastUpdate: s.lastUpdate ?? null,
    })),
    recent: () => supervisor.recent.map(asDashboard),
    subscribe(listener) {
      const forward = (e: ServiceEvent) => listener(asDashboard(e));
      supervisor.on('event', forward);
      return () => supervisor.off('event', forward);
    },
    inject(device, kind) {
      if (!faultDrills) throw new ShadowError(ErrorCodes.NOT_SUPPORTED, 'fault drills are off: set faultDrills: true in the config to allow inject');
      supervisor.runtime.inject(device, { kind: kind as never });
    },
    restart: (device) => supervisor.restart(device),
    // As the control socket's update verb: the catalogue's name or a module path, with the default probation.
    update: async (device, driver) => supervisor.update(device, driver, false),
    driverNames: () => catalogNames(supervisor.runtime),
  };
}
