/** The built-in network drivers, as manifests: their code, and what the kernel opens for them. */
import type { DriverManifest } from '../../driver/manifest.js';
import { requireString } from '../../driver/manifest.js';

const here = (file: string) => new URL(file, import.meta.url).href;

export const netDrivers: DriverManifest[] = [
  {
    class: 'net', name: 'virtual', module: here('./virtual.js'),
    description: 'a virtual NIC whose hardware lives in the kernel (a VirtualNic)',
    resources: (config) => { requireString(config, 'socket', 'virtual NIC', "a VirtualNic's socketPath"); return []; },
    sockets: (config) => [requireString(config, 'socket', 'virtual NIC', "a VirtualNic's socketPath")],
  },
  {
    class: 'net', name: 'tap', module: here('./tap-nic.js'), nativeCode: true,
    description: 'a Linux TAP interface the kernel opens and holds',
    // Offloads unless config.offloads is false (the driver reads the same setting).
    resources: (config) => [{ name: 'tap', tap: requireString(config, 'ifname', 'tap', 'the TAP interface name'), tapOffloads: config.offloads !== false }],
  },
  {
    class: 'net', name: 'packet', module: here('./packet.js'), nativeCode: true,
    description: 'an existing interface through an AF_PACKET socket the kernel holds',
    resources: (config) => [{ name: 'packet', packet: requireString(config, 'ifname', 'packet', 'the interface name') }],
  },
];
