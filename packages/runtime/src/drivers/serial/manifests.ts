/** The built-in serial drivers, as manifests: their code, and what the kernel opens for them. */
import type { DriverManifest } from '../../driver/manifest.js';
import { requireString } from '../../driver/manifest.js';
import { serialportReads } from './bindings-reads.js';

const here = (file: string) => new URL(file, import.meta.url).href;

export const serialDrivers: DriverManifest[] = [
  {
    class: 'serial', name: 'virtual', module: here('./virtual.js'),
    description: 'a virtual serial port whose hardware lives in the kernel (a VirtualSerialPort, a loopback plug)',
    resources: (config) => { requireString(config, 'socket', 'virtual serial', "a VirtualSerialPort's socketPath"); return []; },
    // Without it a process domain's sandbox hides the hardware's socket and the driver cannot start.
    sockets: (config) => [requireString(config, 'socket', 'virtual serial', "a VirtualSerialPort's socketPath")],
  },
  {
    class: 'serial', name: 'serialport', module: here('./serialport.js'), nativeCode: true,
    description: "a tty through serialport's own native binding, @serialport/bindings-cpp, unmodified",
    resources: (config) => [{ name: 'tty', tty: requireString(config, 'path', 'serialport', 'the tty, e.g. /dev/ttyUSB0') }],
    reads: serialportReads,
    exclusiveInit: "its init resets the tty's line settings (as a UART driver's probe does), which would change them under the driver serving the port",
  },
];
