/** The built-in sound drivers, as manifests: their code, and what the kernel opens for them. */
import type { DriverManifest } from '../../driver/manifest.js';
import { requireString } from '../../driver/manifest.js';

const here = (file: string) => new URL(file, import.meta.url).href;

export const soundDrivers: DriverManifest[] = [
  {
    class: 'sound', name: 'virtual', module: here('./virtual.js'),
    description: 'a sound card with its own clock in the kernel (a VirtualSoundCard)',
    resources: () => [],
    sockets: (config) => (typeof config.socket === 'string' ? [config.socket] : []),
  },
  {
    class: 'sound', name: 'pulse', module: here('./pulse.js'),
    description: 'a PulseAudio server, through pacat/parec clients the kernel starts for the driver',
    resources: (config) => { requireString(config, 'server', 'pulse', "the PulseAudio server's socket path"); return []; },
  },
  {
    class: 'sound', name: 'wav', module: here('./wav.js'),
    description: 'a WAV file played in real time',
    resources: (config) => [{ name: 'wav', path: requireString(config, 'path', 'wav', 'the WAV file to write'), create: true }],
  },
];
