/** The built-in block drivers, as manifests: their code, and what the kernel opens for them. */
import type { DriverManifest } from '../../driver/manifest.js';
import { requireString } from '../../driver/manifest.js';

const here = (file: string) => new URL(file, import.meta.url).href;

/** The unix socket an nbd device's config names (`socket`, or `socket=` in an nbd+unix:// url). */
function nbdSockets(config: Record<string, unknown>): string[] {
  if (typeof config.socket === 'string') return [config.socket];
  if (typeof config.url !== 'string' || !config.url.startsWith('nbd+unix:')) return [];
  const socket = new URL(config.url).searchParams.get('socket');
  return socket ? [socket] : [];
}

export const blockDrivers: DriverManifest[] = [
  {
    class: 'block', name: 'ram', module: here('./ram.js'),
    description: 'a virtual disk in device memory the kernel holds (the zero-setup default)',
    resources: (config) => [{ name: 'medium', memoryBytes: Number(config.sizeBytes ?? 64 * 1024 * 1024) }],
  },
  {
    class: 'block', name: 'file', module: here('./file.js'),
    description: 'a disk image or a real block device (/dev/loopN), opened and held by the kernel',
    resources: (config) => [{ name: 'disk', path: requireString(config, 'path', 'file', 'a disk image or block device'), readOnly: config.readOnly === true }],
  },
  {
    class: 'block', name: 'nbd', module: here('./nbd.js'),
    description: 'an NBD client of nbdkit or qemu-nbd; it reconnects after server outages',
    // Its own connection to the server, so its own network (TCP) or the server's socket (unix).
    network: true,
    sockets: nbdSockets,
    resources: (config) => {
      if (typeof config.url !== 'string' && typeof config.socket !== 'string' && config.port === undefined) {
        throw new Error('the nbd driver needs config.url, config.socket or config.port');
      }
      return [];
    },
  },
];
