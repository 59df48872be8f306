/** Every built-in driver's manifest. The runtime registers these; users register their own. */
import type { DriverManifest } from '../driver/manifest.js';
import { blockDrivers } from './block/manifests.js';
import { netDrivers } from './net/manifests.js';
import { serialDrivers } from './serial/manifests.js';
import { soundDrivers } from './sound/manifests.js';

export const builtInDrivers: readonly DriverManifest[] = [...blockDrivers, ...netDrivers, ...soundDrivers, ...serialDrivers];
