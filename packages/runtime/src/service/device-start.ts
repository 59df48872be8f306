/**
 * One device from its config entry: the driver spec the runtime attaches, and the frontend
 * that serves it (block: NBD export; sound: PCM socket; net: its switch, which the
 * supervisor starts once all of the switch's ports are attached).
 */
import type { Runtime } from '../runtime.js';
import type { NetDevice } from '../kernel/net-device.js';
import type { DeviceConfig } from './config-schema.js';
import { CountedBlockDevice } from './counted-block-device.js';
import { startBlockFrontend } from './block-frontend.js';
import { startSoundFrontend } from './sound-frontend.js';
import type { DeviceStats } from './device-stats.js';
import type { Frontend } from './frontend.js';
import type { Logger } from './log.js';
import type { ServiceMetrics } from './metrics.js';

type DriverSpec = Parameters<Runtime['attach']>[0];

export function driverSpec(name: string, device: DeviceConfig): Omit<DriverSpec, 'className'> {
  return {
    name, driver: device.driver, fallbackDriver: device.fallbackDriver, domain: device.domain, recovery: device.recovery,
    warmStandby: device.warmStandby ?? device.recovery !== 'native', domainGroup: device.domainGroup, restart: device.restart, memoryLimitMb: device.memoryLimitMb,
    sandbox: device.sandbox, poisonThreshold: device.poisonThreshold, brokenAfter: device.brokenAfter,
    config: device.config, resources: device.resources, ...device.deadlines,
  };
}

export interface Started {
  frontend: Frontend | undefined;
  /** A net device: the port its switch uses. */
  port: NetDevice | undefined;
}

/** Attaches the device and starts its frontend; a frontend that fails to start detaches it again. */
export async function startDevice(runtime: Runtime, name: string, device: DeviceConfig, stats: DeviceStats, metrics: ServiceMetrics,
  log: Logger): Promise<Started> {
  const spec = driverSpec(name, device);
  if (device.class === 'net') return { frontend: undefined, port: await runtime.attachNet(spec) };
  const attached = await runtime.attach({ ...spec, className: device.class });
  try {
    if (device.class === 'block') {
      return { frontend: await startBlockFrontend(new CountedBlockDevice(attached, stats, metrics, log), device.frontend, runtime.manager.busyPollUs), port: undefined };
    }
    return { frontend: await startSoundFrontend(runtime.sound(attached), device.frontend, stats), port: undefined };
  } catch (err) {
    await runtime.detach(name);
    throw err;
  }
}
