/**
 * The checks a schema cannot make alone: names that must be unique across devices, a switch
 * port naming a switch nobody declared, a driver name the class does not have or a driver
 * config its manifest refuses, and (hostProblems) what the host says of the paths: a socket
 * whose directory does not exist, a file in the way, a socket another server still answers on.
 */
import { existsSync, lstatSync } from 'node:fs';
import net from 'node:net';
import { dirname, resolve } from 'node:path';
import { memoryLimitOf } from '../runtime.js';
import { addressPattern, type ServiceConfig } from './config-schema.js';
import { describe } from './config-text.js';

/** What the check needs of the runtime's driver catalogue (runtime.manager.catalog). */
export interface DriverChecker {
  resolve(className: string, driver: string): { url: string };
  resources(resolved: { url: string }, config: Record<string, unknown>, explicit: undefined): unknown;
}

export const defaultControlPath = 'shadowd.sock';
export const defaultBlockSize = 4096;

/** Every unix socket the config makes the service create, with the field that names it. */
export function socketPaths(config: ServiceConfig): { field: string; path: string }[] {
  const out = [{ field: 'control', path: resolve(config.control ?? defaultControlPath) }];
  for (const [name, device] of Object.entries(config.devices)) {
    if ('socket' in device.frontend && device.frontend.socket !== undefined) out.push({ field: `devices.${name}.frontend.socket`, path: resolve(device.frontend.socket) });
  }
  return out;
}

function duplicates(config: ServiceConfig): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { field, path } of socketPaths(config)) {
    const first = seen.get(path);
    if (first) problems.push(`${field}: expected a socket path of its own, found ${JSON.stringify(path)} (already ${first})`);
    else seen.set(path, field);
  }
  const ports = new Map<string, string>();
  const addresses = Object.entries(config.devices).flatMap(([name, d]) => 'address' in d.frontend && d.frontend.address ? [{ field: `devices.${name}.frontend.address`, address: d.frontend.address }] : []);
  if (config.metrics) addresses.push({ field: 'metrics', address: config.metrics });
  for (const { field, address } of addresses) {
    if (Number(addressPattern.exec(address)?.[2]) === 0) continue;
    const first = ports.get(address);
    if (first) problems.push(`${field}: expected an address of its own, found ${JSON.stringify(address)} (already ${first})`);
    else ports.set(address, field);
  }
  return problems;
}

function driverProblems(config: ServiceConfig, drivers: DriverChecker | undefined): string[] {
  const problems: string[] = [];
  for (const [name, device] of Object.entries(config.devices)) {
    const field = `devices.${name}`;
    if (device.class === 'net' && !config.switches?.[device.frontend.switch]) {
      problems.push(`${field}.frontend.switch: expected a switch declared under switches, found ${JSON.stringify(device.frontend.switch)}`);
    }
    if (device.domainGroup !== undefined) {
      if (device.domain === 'process' || device.domain === 'none' || device.recovery === 'native') {
        problems.push(`${field}.domainGroup: expected a worker domain (only threads share a process), found domain ${JSON.stringify(device.recovery === 'native' ? 'none' : device.domain)}`);
      }
      if (device.warmStandby === 'shared') {
        problems.push(`${field}.warmStandby: expected true or false in a domain group (its spare thread is the standby), found "shared"`);
      }
      const first = Object.entries(config.devices).find(([, d]) => d.domainGroup === device.domainGroup)!;
      if (first[0] !== name && memoryLimitOf(first[1]) !== memoryLimitOf(device)) {
        problems.push(`${field}.memoryLimitMb: expected ${memoryLimitOf(first[1])}, the heap limit of domain group ${JSON.stringify(device.domainGroup)} (set by devices.${first[0]}), found ${memoryLimitOf(device)}`);
      }
    }
    if (device.class === 'block' && device.config?.sizeBytes !== undefined) {
      const size = device.config.sizeBytes;
      const block = Number(device.config.blockSize ?? defaultBlockSize);
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0 || size % block !== 0 || size > 2 ** 40) {
        problems.push(`${field}.config.sizeBytes: expected a positive multiple of the block size ${block} up to 1 TiB, found ${describe(size)}`);
        continue;
      }
    }
    if (!drivers) continue;
    for (const key of ['driver', 'fallbackDriver'] as const) {
      const driver = device[key];
      if (driver === undefined) continue;
      try {
        const resolved = drivers.resolve(device.class, driver);
        if (resolved.url.startsWith('file:') && !existsSync(new URL(resolved.url))) {
          problems.push(`${field}.${key}: expected a built-in driver name or an existing module, found ${JSON.stringify(driver)} (no such file)`);
        } else {
          const resources = device.resources ?? drivers.resources(resolved, device.config ?? {}, undefined);
          // Every resource reaches a process as a descriptor, which a started process cannot be handed.
          if (key === 'driver' && device.warmStandby === 'shared' && device.domain === 'process' && Array.isArray(resources) && resources.length > 0) {
            problems.push(`${field}.warmStandby: expected true or false for a process-domain device with host resources (shared spares are ` +
              `started before their device, and a started process cannot be handed a descriptor), found "shared"`);
          }
        }
      } catch (err) {
        const message = (err as Error).message;
        problems.push(message.startsWith('no ')
          ? `${field}.${key}: expected a ${device.class} driver, found ${JSON.stringify(driver)} (${message})`
          : `${field}.config: ${message}`);
      }
    }
  }
  return problems;
}

/** Problems between fields; none means the config can start (hostProblems aside). */
export function crossFieldProblems(config: ServiceConfig, drivers?: DriverChecker): string[] {
  return [...duplicates(config), ...driverProblems(config, drivers)];
}

/** True when a server answers on the unix socket (it is in use, not a leftover). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const probe = net.connect(path);
    probe.once('connect', () => { probe.destroy(); done(true); });
    probe.once('error', () => done(false));
  });
}

/**
 * What the host says of the config's socket paths (a leftover socket is fine: it is replaced).
 * `own` are the sockets the running service already serves (a reload keeps them).
 */
export async function hostProblems(config: ServiceConfig, own: ReadonlySet<string> = new Set()): Promise<string[]> {
  const problems: string[] = [];
  for (const { field, path } of socketPaths(config)) {
    if (own.has(path)) continue;
    if (!existsSync(dirname(path))) { problems.push(`${field}: expected a path in an existing directory, found ${JSON.stringify(path)} (no directory ${dirname(path)})`); continue; }
    if (Buffer.byteLength(path) > 107) { problems.push(`${field}: expected a socket path of at most 107 bytes, found ${Buffer.byteLength(path)} bytes`); continue; }
    let stat;
    try { stat = lstatSync(path); } catch { continue; }
    if (!stat.isSocket()) problems.push(`${field}: expected a free path or a leftover socket, found a ${stat.isDirectory() ? 'directory' : 'file'} at ${path}`);
    else if (await socketAnswers(path)) problems.push(`${field}: expected a free socket path, found ${path} in use by a running server`);
  }
  return problems;
}
