/** Built-in drivers by class and name; anything else is a path or URL to a driver module. */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Sandbox } from '../isolation/domain.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import type { ResourceSpec } from '../kernel/resources.js';

const builtIn: Record<string, Record<string, string>> = {
  block: {
    ram: new URL('../drivers/block/ram.js', import.meta.url).href,
    file: new URL('../drivers/block/file.js', import.meta.url).href,
    nbd: new URL('../drivers/block/nbd.js', import.meta.url).href,
  },
  net: {
    virtual: new URL('../drivers/net/virtual.js', import.meta.url).href,
    tap: new URL('../drivers/net/tap.js', import.meta.url).href,
    packet: new URL('../drivers/net/packet.js', import.meta.url).href,
  },
  sound: {
    virtual: new URL('../drivers/sound/virtual.js', import.meta.url).href,
    pulse: new URL('../drivers/sound/pulse.js', import.meta.url).href,
    wav: new URL('../drivers/sound/wav.js', import.meta.url).href,
  },
};

export function resolveDriver(className: string, driver: string): string {
  const known = builtIn[className]?.[driver];
  if (known) return known;
  if (/^(file|data):/.test(driver)) return driver;
  if (driver.includes('/') || driver.endsWith('.js')) {
    return pathToFileURL(isAbsolute(driver) ? driver : resolve(driver)).href;
  }
  throw new ShadowError(ErrorCodes.NOT_FOUND, `no built-in ${className} driver named ${driver}`);
}

/** The host resources a built-in driver needs, from its config. */
export function defaultResources(className: string, driver: string, config: Record<string, unknown>): ResourceSpec[] {
  if (className === 'net' && driver === 'virtual' && typeof config.socket !== 'string') {
    throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the virtual NIC driver needs config.socket (a VirtualNic\'s socketPath)');
  }
  if (className === 'net' && driver === 'tap') {
    if (typeof config.ifname !== 'string') throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the tap driver needs config.ifname');
    return [{ name: 'tap', tap: config.ifname }];
  }
  if (className === 'net' && driver === 'packet') {
    if (typeof config.ifname !== 'string') throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the packet driver needs config.ifname');
    return [{ name: 'packet', packet: config.ifname }];
  }
  if (className === 'sound' && driver === 'pulse' && typeof config.server !== 'string') {
    throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the pulse driver needs config.server (the PulseAudio server\'s socket path)');
  }
  if (className === 'sound' && driver === 'wav') {
    if (typeof config.path !== 'string') throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the wav driver needs config.path');
    return [{ name: 'wav', path: config.path, create: true }];
  }
  if (className !== 'block') return [];
  if (driver === 'ram') return [{ name: 'medium', memoryBytes: Number(config.sizeBytes ?? 64 * 1024 * 1024) }];
  if (driver === 'file') {
    if (typeof config.path !== 'string') throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the file driver needs config.path');
    return [{ name: 'disk', path: config.path, readOnly: config.readOnly === true }];
  }
  if (driver === 'nbd' && typeof config.url !== 'string' && typeof config.socket !== 'string' && config.port === undefined) {
    throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, 'the nbd driver needs config.url, config.socket or config.port');
  }
  return [];
}

export function builtInDrivers(className: string): string[] {
  return Object.keys(builtIn[className] ?? {});
}

/** The package's compiled code and its dependencies: what every driver may read. */
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A path and, when it is a symlink (a linked node_modules), its target: Node checks both. */
function withReal(path: string): string[] {
  try {
    const target = realpathSync(path);
    return target === path ? [path] : [path, target];
  } catch {
    return [path];
  }
}

/** Built-in drivers that make system calls through koffi (a native addon). */
const needAddons = new Set([builtIn.net!.tap!, builtIn.net!.packet!]);

/** Least privilege for a process-domain driver: read its code, write nothing. */
export function sandboxFor(option: boolean | { allowFsRead?: string[]; allowFsWrite?: string[]; allowAddons?: boolean } | undefined,
  driverUrl: string): Sandbox | undefined {
  if (option === false) return undefined;
  const extra = typeof option === 'object' ? option : {};
  const driverDir = driverUrl.startsWith('file:') ? dirname(fileURLToPath(driverUrl)) : undefined;
  return {
    allowFsRead: [resolve(packageRoot, 'dist'), resolve(packageRoot, 'node_modules'),
      ...(driverDir ? [driverDir] : []), ...(extra.allowFsRead ?? [])].flatMap(withReal),
    allowFsWrite: extra.allowFsWrite ?? [],
    allowAddons: extra.allowAddons ?? needAddons.has(driverUrl),
  };
}
