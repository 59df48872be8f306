/** The device-level fault scenarios a campaign runs, by name (faults of the device, not of the driver). */
import { nbdEio, nbdStall } from './nbd.js';
import { pulseRestart } from './pulse.js';
import type { DeviceScenario } from './scenario.js';
import { tapSilent } from './tap.js';

export const deviceScenarios: Record<string, DeviceScenario> = Object.fromEntries(
  [nbdEio, nbdStall, tapSilent, pulseRestart].map((s) => [s.name, s]));

export type { DeviceScenario } from './scenario.js';
