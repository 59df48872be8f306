/**
 * The config `shadowd run` uses without a file: no setup and no root. A 64 MiB `ram` disk in
 * a worker domain with a warm standby, exported over NBD on ./disk0.sock; the control socket
 * ./shadowd.sock; metrics on a free loopback port; fault drills on, so that `shadowd inject`
 * shows recovery at once.
 */
import type { ServiceConfig } from './config-schema.js';

export const defaultConfig: ServiceConfig = {
  control: 'shadowd.sock',
  metrics: '127.0.0.1:0',
  faultDrills: true,
  devices: {
    disk0: {
      class: 'block', driver: 'ram', domain: 'worker', warmStandby: true,
      config: { sizeBytes: 64 * 1024 * 1024 },
      frontend: { type: 'nbd', socket: 'disk0.sock' },
    },
  },
};
